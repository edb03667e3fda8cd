using System.Text;

namespace VDiTLens.Studies.Scale;

/// <summary>
/// Slurm scripts of a sharded study: a job array (task id = shard; requeued on node failure, and resumable because
/// finished cells are on disk) and a merge job submitted with <c>--dependency=afterany</c> on the array.
/// </summary>
public static class SlurmJob
{
    /// <param name="gres">Generic resources per task, e.g. <c>gpu:1</c>; null requests none (CPU-only clusters).</param>
    public static string ArrayScript(ShardedJob job, string? gres, string logFolder, string? partition = null, string? time = null)
    {
        job.Validate();
        var sb = new StringBuilder("#!/bin/bash\n");
        sb.Append($"#SBATCH --job-name={job.Name}\n");
        sb.Append($"#SBATCH --array=0-{job.Shards - 1}{(job.MaxParallel > 0 ? $"%{job.MaxParallel}" : "")}\n");
        sb.Append("#SBATCH --ntasks=1\n#SBATCH --requeue\n");
        if (gres is not null) sb.Append($"#SBATCH --gres={gres}\n");
        if (partition is not null) sb.Append($"#SBATCH --partition={partition}\n");
        if (time is not null) sb.Append($"#SBATCH --time={time}\n");
        sb.Append($"#SBATCH --chdir={job.WorkingDirectory}\n");
        sb.Append($"#SBATCH --output={Path.Combine(logFolder, "%x-%A_%a.out")}\n");
        sb.Append("set -euo pipefail\n");
        sb.Append("# One shard per array task; a requeued or resubmitted task resumes from the cells already on disk.\n");
        sb.Append(job.ShardCommand("${SLURM_ARRAY_TASK_ID}")).Append('\n');
        return sb.ToString();
    }

    public static string MergeScript(ShardedJob job, string logFolder, string? partition = null)
    {
        var sb = new StringBuilder("#!/bin/bash\n");
        sb.Append($"#SBATCH --job-name={job.Name}-merge\n#SBATCH --ntasks=1\n");
        if (partition is not null) sb.Append($"#SBATCH --partition={partition}\n");
        sb.Append($"#SBATCH --chdir={job.WorkingDirectory}\n");
        sb.Append($"#SBATCH --output={Path.Combine(logFolder, "%x-%j.out")}\n");
        sb.Append("set -euo pipefail\n").Append(job.MergeCommand).Append('\n');
        return sb.ToString();
    }

    /// <summary>The job id printed by <c>sbatch --parsable</c> ("id" or "id;cluster").</summary>
    public static string ParseJobId(string sbatchOutput)
    {
        string id = sbatchOutput.Trim().Split(';')[0];
        return id.Length > 0 && id.All(char.IsAsciiDigit) ? id
            : throw new VDiTLensException($"sbatch printed '{sbatchOutput.Trim()}' where a job id was expected");
    }
}
