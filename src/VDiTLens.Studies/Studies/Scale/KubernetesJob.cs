using System.Text;

namespace VDiTLens.Studies.Scale;

/// <summary>
/// Kubernetes manifests of a sharded study: an Indexed Job (completion index = shard, one GPU per pod, the results folder
/// on a shared PersistentVolumeClaim; failed pods restart and resume) and a merge Job.
/// </summary>
public static class KubernetesJob
{
    public const string ResultsMount = "/results";

    /// <param name="gpus">nvidia.com/gpu per pod; 0 requests none.</param>
    public static string ShardJob(ShardedJob job, string image, string claim, int gpus, int phase = 1)
    {
        job.Validate();
        string name = phase == 1 ? job.Name : $"{job.Name}-phase{phase}";
        var sb = new StringBuilder();
        sb.Append("apiVersion: batch/v1\nkind: Job\nmetadata:\n").Append($"  name: {name}\n");
        sb.Append("spec:\n  completionMode: Indexed\n").Append($"  completions: {job.Shards}\n")
            .Append($"  parallelism: {(job.MaxParallel > 0 ? Math.Min(job.MaxParallel, job.Shards) : job.Shards)}\n")
            .Append("  backoffLimitPerIndex: 4\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n");
        sb.Append("        - name: shard\n").Append($"          image: {image}\n").Append($"          workingDir: {ResultsMount}\n");
        sb.Append("          command: [\"bash\", \"-c\"]\n");
        sb.Append($"          args: [{Yaml(job.ShardCommand("${JOB_COMPLETION_INDEX}"))}]\n");
        if (gpus > 0) sb.Append($"          resources:\n            limits:\n              nvidia.com/gpu: {gpus}\n");
        sb.Append(Volume(claim));
        return sb.ToString();
    }

    public static string MergeJob(ShardedJob job, string image, string claim)
    {
        var sb = new StringBuilder();
        sb.Append("apiVersion: batch/v1\nkind: Job\nmetadata:\n").Append($"  name: {job.Name}-merge\n");
        sb.Append("spec:\n  backoffLimit: 2\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n");
        sb.Append("        - name: merge\n").Append($"          image: {image}\n").Append($"          workingDir: {ResultsMount}\n");
        sb.Append($"          command: [\"bash\", \"-c\"]\n          args: [{Yaml(job.MergeCommand)}]\n");
        sb.Append(Volume(claim));
        return sb.ToString();
    }

    private static string Volume(string claim) =>
        $"          volumeMounts:\n            - name: results\n              mountPath: {ResultsMount}\n" +
        $"      volumes:\n        - name: results\n          persistentVolumeClaim:\n            claimName: {claim}\n";

    /// <summary>A YAML double-quoted scalar.</summary>
    private static string Yaml(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
