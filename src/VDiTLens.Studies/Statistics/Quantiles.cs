namespace VDiTLens.Statistics;

/// <summary>Sample quantiles by linear interpolation between order statistics (type 7, the default of R and NumPy).</summary>
public static class Quantiles
{
    /// <summary>The q-quantile (q ∈ [0, 1]) of <paramref name="values"/>; NaN for an empty sample.</summary>
    public static double Of(IEnumerable<double> values, double q)
    {
        if (!(q >= 0 && q <= 1)) throw new VDiTLensException($"quantile level q must lie in [0, 1] (got {q})");
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return OfSorted(sorted, q);
    }

    /// <summary>The q-quantile of an ascending array.</summary>
    public static double OfSorted(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0) return double.NaN;
        double position = q * (sorted.Count - 1);
        int lower = (int)Math.Floor(position);
        int upper = Math.Min(lower + 1, sorted.Count - 1);
        return sorted[lower] + (position - lower) * (sorted[upper] - sorted[lower]);
    }

    public static double Median(IEnumerable<double> values) => Of(values, 0.5);
}
