namespace VDiTLens.Statistics;

/// <summary>A point estimate with its percentile-bootstrap confidence interval over N independent units.</summary>
public sealed record Estimate(double Value, double Low, double High, int N, double Level)
{
    public override string ToString() =>
        double.IsNaN(Low) ? $"{Value:G4} (n = {N})" : $"{Value:G4} [{Low:G4}, {High:G4}] (n = {N}, {Level:P0} CI)";
}

/// <summary>
/// Percentile bootstrap: resample the N units with replacement <see cref="Resamples"/> times, recompute the statistic,
/// and take the (1 − level)/2 and (1 + level)/2 quantiles of the resampled values. Seeded, so the same data give the
/// same interval in every process. Units must be the independent ones (runs, i.e. prompt × seed), never steps of a run.
/// </summary>
public sealed record Bootstrap(int Resamples = 2000, double Level = 0.95, int Seed = 20240417)
{
    public Estimate Mean(IReadOnlyList<double> units) => Of(units, Average);

    /// <summary>The statistic of the sample and its interval; with fewer than 2 units the interval is NaN.</summary>
    public Estimate Of(IReadOnlyList<double> units, Func<IReadOnlyList<double>, double> statistic)
    {
        if (Resamples < 100) throw new VDiTLensException($"bootstrap resamples must be at least 100 (got {Resamples})");
        if (!(Level > 0 && Level < 1)) throw new VDiTLensException($"bootstrap level must lie in (0, 1) (got {Level})");
        double value = units.Count == 0 ? double.NaN : statistic(units);
        if (units.Count < 2) return new Estimate(value, double.NaN, double.NaN, units.Count, Level);
        var random = new Random(Seed);
        var draws = new double[Resamples];
        var sample = new double[units.Count];
        for (int b = 0; b < Resamples; b++)
        {
            for (int i = 0; i < sample.Length; i++) sample[i] = units[random.Next(units.Count)];
            draws[b] = statistic(sample);
        }
        Array.Sort(draws);
        return new Estimate(value, Quantiles.OfSorted(draws, (1 - Level) / 2), Quantiles.OfSorted(draws, (1 + Level) / 2), units.Count, Level);
    }

    /// <summary>Paired difference a − b per unit (the same prompt and seed in both arms), bootstrapped as one sample.</summary>
    public Estimate PairedDifference(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count) throw new VDiTLensException($"paired bootstrap needs as many units in both arms (got {a.Count} and {b.Count})");
        return Mean(a.Zip(b, (x, y) => x - y).ToArray());
    }

    private static double Average(IReadOnlyList<double> x)
    {
        double s = 0;
        foreach (double v in x) s += v;
        return s / x.Count;
    }
}
