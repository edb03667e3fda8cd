using VDiTLens.Statistics;

namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>
/// The sink statistics of one head from its received mass (valid keys only).
/// <see cref="TopMass"/> and <see cref="TopKMass"/> are shares of the head's attention, comparable across sequence
/// lengths. <see cref="MedianRatio"/> (top mass ÷ the median key) is robust to a few outliers but, like
/// <see cref="MeanKeyRatio"/>, it grows with the number of keys for a fixed share, so compare both only at equal key
/// counts. <see cref="MeanKeyRatio"/> = top mass ÷ (1 / valid keys) = top mass × valid keys is the old "peak ratio".
/// </summary>
public sealed record HeadMass(int Head, int ValidKeys, int TopPosition, double TopMass, double TopKMass, double MedianRatio, double MeanKeyRatio);

public static class HeadMassStatistics
{
    public static IReadOnlyList<HeadMass> Of(HeadMassMatrix m, int topK)
    {
        if (topK < 1) throw new VDiTLensException($"top-k must be at least 1 (got {topK})");
        var heads = new List<HeadMass>(m.Heads);
        int n = m.ValidKeys;
        if (n == 0) throw new VDiTLensException("received mass has no valid key");
        for (int h = 0; h < m.Heads; h++)
        {
            var valid = Enumerable.Range(0, m.Keys).Where(m.IsValid).Select(j => (Key: j, Mass: m.Mass[h][j]))
                .OrderByDescending(x => x.Mass).ThenBy(x => x.Key).ToArray();
            double top = valid[0].Mass;
            double topK_ = valid.Take(topK).Sum(x => x.Mass);
            double median = Quantiles.Median(valid.Select(x => x.Mass));
            heads.Add(new HeadMass(h, n, valid[0].Key, top, topK_, median > 0 ? top / median : double.PositiveInfinity, top * n));
        }
        return heads;
    }
}
