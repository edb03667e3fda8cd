namespace VDiTLens.Studies.Sinks;

/// <summary>How stable the top receivers are: Jaccard overlap of top-k sets.</summary>
public static class SinkPersistence
{
    /// <summary>|A ∩ B| / |A ∪ B|; 1 for two empty sets.</summary>
    public static double Jaccard(IEnumerable<long> a, IEnumerable<long> b)
    {
        var x = a.ToHashSet();
        var y = b.ToHashSet();
        int union = x.Union(y).Count();
        return union == 0 ? 1 : (double)x.Intersect(y).Count() / union;
    }

    /// <summary>Mean Jaccard over all unordered pairs of sets; NaN with fewer than two sets.</summary>
    public static double MeanPairwise(IReadOnlyList<IReadOnlyList<long>> sets)
    {
        double sum = 0;
        int pairs = 0;
        for (int i = 0; i < sets.Count; i++)
            for (int j = i + 1; j < sets.Count; j++)
            {
                sum += Jaccard(sets[i], sets[j]);
                pairs++;
            }
        return pairs == 0 ? double.NaN : sum / pairs;
    }
}
