namespace VDiTLens.Studies.Scale;

/// <summary>
/// What one shard's run did: its cells, how many it computed now, how many were already on disk, and how many wait for
/// cells of other shards (<see cref="PlannedCell.After"/>) that are not on disk yet.
/// </summary>
public sealed record ShardOutcome(int Mine, int Computed, int AlreadyDone, int Total, int Waiting = 0);

/// <summary>
/// Runs a shard's cells of a plan in plan order, skipping those already on disk and saving each as soon as it is done
/// (the study's <c>compute</c> saves atomically), so a killed shard resumes where it stopped and a finished one does nothing.
/// </summary>
public static class ShardRunner
{
    /// <param name="isDone">whether a cell's result is on disk and readable.</param>
    /// <param name="compute">computes and saves one cell (its index among the shard's cells, and their count).</param>
    /// <param name="maxNewCells">stop after computing this many (null: all).</param>
    /// <param name="isReady">whether the cells a cell needs are on disk (null: every cell is ready); a cell that is not waits for a later run.</param>
    public static ShardOutcome Run(StudyPlan plan, Shard shard, Func<PlannedCell, bool> isDone, Action<PlannedCell, int, int> compute,
        int? maxNewCells = null, CancellationToken cancellation = default, Func<PlannedCell, bool>? isReady = null)
    {
        var mine = plan.Of(shard);
        int computed = 0, already = 0, waiting = 0;
        for (int i = 0; i < mine.Count; i++)
        {
            if (isDone(mine[i])) { already++; continue; }
            if (isReady is not null && !isReady(mine[i])) { waiting++; continue; }
            if (maxNewCells is { } max && computed >= max) break;
            cancellation.ThrowIfCancellationRequested();
            compute(mine[i], i, mine.Count);
            computed++;
        }
        return new ShardOutcome(mine.Count, computed, already, plan.Cells.Count, waiting);
    }

    /// <summary>The plan's cells that are not on disk.</summary>
    public static IReadOnlyList<PlannedCell> Missing(StudyPlan plan, Func<PlannedCell, bool> isDone) => plan.Cells.Where(c => !isDone(c)).ToArray();
}
