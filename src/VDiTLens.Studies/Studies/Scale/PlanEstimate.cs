namespace VDiTLens.Studies.Scale;

/// <summary>
/// Seconds measured by running a study's own code on one representative cell (every stage of it: text encoding,
/// denoising, decoding, metrics, saving), on the device and under the load the study will see.
/// </summary>
/// <param name="SetupSeconds">Paid by every process: loading the model.</param>
/// <param name="SharedSeconds">Paid once by the whole study: work every cell needs first (e.g. a dense reference).</param>
/// <param name="CellSeconds">The representative cell, whose planned cost is <paramref name="CellCost"/>.</param>
/// <param name="ReportSeconds">Building the tables and the report from the cells (done once, by the merge).</param>
public sealed record CellTiming(double SetupSeconds, double SharedSeconds, double CellSeconds, double CellCost, double ReportSeconds)
{
    /// <summary>A planned cell's seconds: the representative cell's, scaled by the ratio of planned costs.</summary>
    public double SecondsOf(PlannedCell cell) => CellCost > 0 ? CellSeconds * cell.Cost / CellCost : 0;
}

/// <summary>What a plan costs: generations, transformer forwards and estimated seconds, in total and per shard.</summary>
/// <param name="SecondsPerShard">Each shard's process: setup, its cells, and (shard 0) the shared work.</param>
public sealed record PlanEstimate(int Cells, int Generations, long Forwards, double Seconds, IReadOnlyList<double> SecondsPerShard)
{
    /// <param name="generationsPerCell">pipeline calls of one cell (a batch of prompts is one call); each dense generation is one.</param>
    public static PlanEstimate Of(StudyPlan plan, CellTiming timing, int shards, int generationsPerCell = 1)
    {
        var owners = plan.Owners(shards);
        var perShard = Enumerable.Repeat(timing.SetupSeconds, shards).ToArray();
        perShard[0] += timing.SharedSeconds;
        foreach (var c in plan.Cells) perShard[owners[c.Id]] += timing.SecondsOf(c);
        int generations = plan.Cells.Count * generationsPerCell + plan.DenseGenerations;
        double total = timing.SetupSeconds + timing.SharedSeconds + plan.Cells.Sum(timing.SecondsOf) + timing.ReportSeconds;
        return new PlanEstimate(plan.Cells.Count, generations, (long)generations * plan.ForwardsPerGeneration, total, perShard);
    }
}
