using Spectre.Console;
using VDiTLens.Studies.Scale;

namespace VDiTLens.Cli.Commands;

/// <summary>What a sharded study verb prints: a shard's progress, and the cells a report still lacks.</summary>
internal static class ShardSummary
{
    public static void Print(Shard shard, ShardOutcome outcome, string folder, string outPath)
    {
        AnsiConsole.WriteLine($"shard {shard}: {outcome.Computed} cells computed, {outcome.AlreadyDone} already on disk, of its {outcome.Mine}; " +
            $"the study has {outcome.Total} cells in {folder}");
        if (outcome.Waiting > 0)
            AnsiConsole.WriteLine($"{outcome.Waiting} of its cells wait for other shards' cells they need; run this shard again once the others have finished");
        AnsiConsole.WriteLine("when every shard has finished: vditlens merge --out " + outPath);
    }

    /// <summary>Lists the missing cells; returns 3 when some are missing and <paramref name="requireComplete"/>, else 0.</summary>
    public static int Missing(string study, int total, IReadOnlyList<PlannedCell> missing, bool requireComplete)
    {
        if (missing.Count == 0) return 0;
        AnsiConsole.WriteLine($"{study}: {total - missing.Count}/{total} cells; missing {missing.Count} cells (run their shards again; they resume):");
        foreach (var c in missing.Take(50)) AnsiConsole.WriteLine("  " + c.Description);
        if (missing.Count > 50) AnsiConsole.WriteLine($"  … and {missing.Count - 50} more");
        return requireComplete ? 3 : 0;
    }
}
