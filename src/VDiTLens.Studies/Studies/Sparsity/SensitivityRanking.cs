namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// Orders layers by how much sparsifying them alone degrades the output: the mean latent relative L2 error over all
/// levels of the single-layer sweep (ties: lower layer first).
/// </summary>
public static class SensitivityRanking
{
    public static IReadOnlyList<(int Layer, double Score)> Rank(IEnumerable<SweepCellResult> results, string method)
    {
        return results.Where(r => r.Cell.Method == method && r.Cell.Mode == SweepMode.Single)
            .GroupBy(r => r.Cell.Layer)
            .Select(g => (Layer: g.Key, Score: g.Average(r => r.LatentRelativeL2)))
            .OrderByDescending(x => x.Score).ThenBy(x => x.Layer)
            .ToArray();
    }

    /// <summary>The <paramref name="k"/> most sensitive layers of <paramref name="method"/>.</summary>
    public static IReadOnlyList<int> MostSensitive(IEnumerable<SweepCellResult> results, string method, int k)
    {
        var ranked = Rank(results, method);
        if (k > ranked.Count)
            throw new VDiTLensException($"cannot keep {k} layers dense: the single-layer sweep of '{method}' ranked only {ranked.Count} layers (lower --keep-dense or widen --sites)");
        return ranked.Take(k).Select(x => x.Layer).OrderBy(l => l).ToArray();
    }
}
