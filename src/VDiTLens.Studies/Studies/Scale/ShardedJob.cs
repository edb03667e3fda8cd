namespace VDiTLens.Studies.Scale;

/// <summary>
/// A sharded study as a scheduler runs it: <see cref="Shards"/> processes each running
/// <c>PROGRAM VERB ARGUMENTS --shard i/n</c> into one results folder (<see cref="Phases"/> times: a second pass computes
/// the cells that are ranked from other shards' cells), then one <c>PROGRAM merge --out OUT</c>.
/// </summary>
public sealed record ShardedJob
{
    public required IReadOnlyList<string> Program { get; init; }
    public required string Verb { get; init; }
    public required IReadOnlyList<string> Arguments { get; init; }
    public required int Shards { get; init; }
    /// <summary>The report folder the verb writes to (<c>--out</c>), which merge reads.</summary>
    public required string Out { get; init; }
    public required string WorkingDirectory { get; init; }
    public int MaxParallel { get; init; }
    public int Phases { get; init; } = 1;
    public string Name { get; init; } = "vditlens";

    public void Validate()
    {
        if (Shards < 1) throw new VDiTLensException($"Shards {Shards}: must be at least 1");
        if (MaxParallel < 0) throw new VDiTLensException($"MaxParallel {MaxParallel}: must be 0 (no limit) or more");
        if (Phases is < 1 or > 2) throw new VDiTLensException($"Phases {Phases}: 1 or 2");
        if (Arguments.Contains("--shard")) throw new VDiTLensException("Arguments: leave --shard out; each task adds its own");
    }

    /// <summary>The shard command with the shard index as a shell expression (e.g. <c>${SLURM_ARRAY_TASK_ID}</c>).</summary>
    public string ShardCommand(string indexExpression) =>
        string.Join(" ", Program.Concat(new[] { Verb }).Concat(Arguments).Concat(new[] { "--shard" }).Select(Shell.Quote))
        + $" \"{indexExpression}/{Shards}\"";

    public string MergeCommand => string.Join(" ", Program.Concat(new[] { "merge", "--out", Out }).Select(Shell.Quote));

    public string[] ShardArguments(int index) => new[] { Verb }.Concat(Arguments).Concat(new[] { "--shard", $"{index}/{Shards}" }).ToArray();
}

/// <summary>POSIX shell quoting.</summary>
public static class Shell
{
    public static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,+@%".Contains(c)) ? s : "'" + s.Replace("'", "'\"'\"'") + "'";
}
