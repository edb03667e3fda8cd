using Spectre.Console;
using VDiTLens.Studies.Scale;

namespace VDiTLens.Cli.Commands;

/// <summary>What <c>--dry-run</c> prints: every cell with its estimated seconds, the totals, and one machine-readable line.</summary>
internal static class Estimate
{
    /// <param name="shared">what <see cref="CellTiming.SharedSeconds"/> paid for, e.g. "the dense reference".</param>
    public static void Print(StudyPlan plan, CellTiming timing, Shard shard, string device, string? shared = null, int generationsPerCell = 1)
    {
        var estimate = PlanEstimate.Of(plan, timing, shard.Count, generationsPerCell);
        var table = new Table().AddColumns("cell", "cost (generations)", "estimated s");
        foreach (var c in plan.Cells) table.AddRow(Markup.Escape(c.Description), c.Cost.ToString("F2"), timing.SecondsOf(c).ToString("F1"));
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"{estimate.Cells} cells, {estimate.Generations} generations{(plan.DenseGenerations > 0 ? " (the dense reference included)" : "")}, {estimate.Forwards} transformer forwards");
        AnsiConsole.WriteLine($"measured on {device}: loading {timing.SetupSeconds:F2} s" + (shared is null ? "" : $", {shared} {timing.SharedSeconds:F2} s")
            + $", one cell of cost {timing.CellCost:F2} {timing.CellSeconds:F2} s (every stage), the report {timing.ReportSeconds:F2} s");
        AnsiConsole.WriteLine($"estimated total {TimeSpan.FromSeconds(estimate.Seconds):hh\\:mm\\:ss}" + (shard.IsAll ? ""
            : $"; over {shard.Count} shards the longest takes {TimeSpan.FromSeconds(estimate.SecondsPerShard.Max()):hh\\:mm\\:ss}"));
        AnsiConsole.WriteLine(FormattableString.Invariant($"estimate: cells={estimate.Cells} generations={estimate.Generations} forwards={estimate.Forwards} seconds={estimate.Seconds:F2}"));
    }
}
