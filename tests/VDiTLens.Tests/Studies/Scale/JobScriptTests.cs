using VDiTLens.Studies.Scale;

namespace VDiTLens.Tests.Studies.Scale;

/// <summary>The Slurm and Kubernetes files of a sharded study: array/index → shard, resources, shared results folder, merge.</summary>
public sealed class JobScriptTests
{
    private static readonly ShardedJob Job = new()
    {
        Program = new[] { "vditlens" }, Verb = "sparsity", Arguments = new[] { "--model", "models/wan 1.3b", "--out", "runs/a" },
        Shards = 4, MaxParallel = 2, Out = "runs/a", WorkingDirectory = "/data/work",
    };

    [Fact]
    public void Slurm_array_maps_task_id_to_shard_and_is_requeueable()
    {
        string script = SlurmJob.ArrayScript(Job, "gpu:1", "/data/logs");
        Assert.Contains("#SBATCH --array=0-3%2\n", script);
        Assert.Contains("#SBATCH --requeue\n", script);
        Assert.Contains("#SBATCH --gres=gpu:1\n", script);
        Assert.Contains("#SBATCH --chdir=/data/work\n", script);
        Assert.EndsWith("vditlens sparsity --model 'models/wan 1.3b' --out runs/a --shard \"${SLURM_ARRAY_TASK_ID}/4\"\n", script);
        Assert.DoesNotContain("--gres", SlurmJob.ArrayScript(Job, null, "/data/logs"));
        Assert.EndsWith("vditlens merge --out runs/a\n", SlurmJob.MergeScript(Job, "/data/logs"));
    }

    [Fact]
    public void Sbatch_parsable_output_gives_the_job_id()
    {
        Assert.Equal("1234", SlurmJob.ParseJobId("1234;cluster\n"));
        Assert.Throws<VDiTLensException>(() => SlurmJob.ParseJobId("sbatch: error: invalid partition"));
    }

    [Fact]
    public void Kubernetes_indexed_job_maps_completion_index_to_shard_with_a_gpu_and_the_shared_claim()
    {
        string yaml = KubernetesJob.ShardJob(Job, "registry/vditlens:1", "results-pvc", gpus: 1);
        Assert.Contains("completionMode: Indexed", yaml);
        Assert.Contains("completions: 4", yaml);
        Assert.Contains("parallelism: 2", yaml);
        Assert.Contains("--shard \\\"${JOB_COMPLETION_INDEX}/4\\\"", yaml);
        Assert.Contains("nvidia.com/gpu: 1", yaml);
        Assert.Contains("claimName: results-pvc", yaml);
        Assert.DoesNotContain("nvidia.com/gpu", KubernetesJob.ShardJob(Job, "img", "pvc", gpus: 0));
        string merge = KubernetesJob.MergeJob(Job, "registry/vditlens:1", "results-pvc");
        Assert.Contains("vditlens merge --out runs/a", merge);
        Assert.Contains("claimName: results-pvc", merge);
    }

    [Fact]
    public void Shell_quoting_keeps_arguments_whole() =>
        Assert.Equal("'it'\"'\"'s' plain", string.Join(" ", new[] { "it's", "plain" }.Select(Shell.Quote)));
}
