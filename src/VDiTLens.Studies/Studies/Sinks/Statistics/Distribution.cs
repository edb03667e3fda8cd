using VDiTLens.Statistics;

namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>A statistic over many (run, step) observations: its spread, before anything is averaged.</summary>
public sealed record Distribution(int N, double Mean, double Median, double Q90, double Max)
{
    public static Distribution Of(IReadOnlyCollection<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        return sorted.Length == 0
            ? new Distribution(0, double.NaN, double.NaN, double.NaN, double.NaN)
            : new Distribution(sorted.Length, sorted.Average(), Quantiles.OfSorted(sorted, 0.5), Quantiles.OfSorted(sorted, 0.9), sorted[^1]);
    }
}

/// <summary>Attention entropy in nats divided by ln(valid keys): 1 is uniform attention, 0 a single key; comparable across lengths.</summary>
public static class NormalisedEntropy
{
    public static double Of(double entropyNats, int validKeys) =>
        validKeys >= 2 ? entropyNats / Math.Log(validKeys) : throw new VDiTLensException($"normalised entropy needs at least 2 keys (got {validKeys})");
}
