using VDiTLens.Attention;

namespace VDiTLens.Probes;

/// <summary>How probe results are aggregated: over everything (per site), or kept apart per step, branch, run or expert (Wan2.2 A14B).</summary>
[Flags]
public enum ProbeGrouping
{
    Site = 0,
    Step = 1,
    Branch = 2,
    Run = 4,
    Expert = 8,
}

public static class ProbeGroupingExtensions
{
    /// <summary>
    /// The groups the selected rows of a call feed, each with its batch rows (null = all rows of the call). Rows are
    /// split by guidance branch (read from <see cref="AttentionRunState.Batch"/>), so a batched-guidance call
    /// ([cond…, uncond…]) feeds the same groups with the same rows as the two calls of split guidance: per branch when
    /// grouped by branch, and one group averaged over branches otherwise. Results are [prompts, heads, …].
    /// </summary>
    public static IEnumerable<(ProbeGroup Group, long[]? Rows)> GroupsOf(this ProbeGrouping grouping, AttentionCall call, AttentionSelector selector, long batch)
    {
        var selected = selector.RowIndices(call, batch);
        var group = new ProbeGroup(call.Site.Name,
            grouping.HasFlag(ProbeGrouping.Run) ? call.State.Run : null,
            grouping.HasFlag(ProbeGrouping.Step) ? call.State.Step : null,
            Expert: grouping.HasFlag(ProbeGrouping.Expert) ? call.State.Expert : null);
        bool byBranch = grouping.HasFlag(ProbeGrouping.Branch);
        if (call.State.Batch is not { } layout || layout.RowBranches.Distinct().Count() == 1 && selected is null)
        {
            string branch = call.State.Batch is { } uniform && uniform.Rows > 0 ? uniform.RowBranches[0] : call.State.Branch;
            yield return (byBranch ? group with { Branch = branch } : group, selected);
            yield break;
        }
        if (layout.Rows != batch)
            throw new VDiTLensException($"the run state's batch layout {layout} has {layout.Rows} rows but the call at site {call.Site.Name} has {batch}; set AttentionRunState.Batch for this forward");
        foreach (var branch in layout.RowBranches.Distinct())
        {
            var rows = layout.RowsOf(branch).Where(r => selected is null || selected.Contains(r)).ToArray();
            if (rows.Length == 0) continue;
            yield return (byBranch ? group with { Branch = branch } : group, rows.Length == batch ? null : rows);
        }
    }
}
