namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>
/// How stable the strongest receiver is over many observations (runs × steps): the number of distinct top-1 keys
/// (rope2sink counts these over prompts), the most frequent one and the share of observations it tops.
/// </summary>
public sealed record TopSinkIdentity(int Observations, int DistinctTopKeys, int ModalKey, string ModalLocation, double ModalShare)
{
    public static TopSinkIdentity Of(IReadOnlyList<int> topKeys, Func<int, string> describe)
    {
        if (topKeys.Count == 0) return new TopSinkIdentity(0, 0, -1, "", double.NaN);
        var modal = topKeys.GroupBy(k => k).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First();
        return new TopSinkIdentity(topKeys.Count, topKeys.Distinct().Count(), modal.Key, describe(modal.Key), (double)modal.Count() / topKeys.Count);
    }
}
