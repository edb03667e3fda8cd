using VDiTLens.Statistics;
using VDiTLens.Tests.Studies.Sinks.Statistics;

namespace VDiTLens.Tests.Statistics;

public sealed class BootstrapTests
{
    [Fact]
    public void Quantiles_interpolate_between_order_statistics_like_numpy()
    {
        // numpy.quantile([1, 2, 3, 4], [0, .25, .5, .9, 1]) = [1, 1.75, 2.5, 3.7, 4]
        var x = new double[] { 4, 1, 3, 2 };
        Assert.Equal(1, Quantiles.Of(x, 0));
        Assert.Equal(1.75, Quantiles.Of(x, 0.25), 12);
        Assert.Equal(2.5, Quantiles.Median(x), 12);
        Assert.Equal(3.7, Quantiles.Of(x, 0.9), 12);
        Assert.Equal(4, Quantiles.Of(x, 1));
        Assert.True(double.IsNaN(Quantiles.Of(Array.Empty<double>(), 0.5)));
        Assert.Throws<VDiTLensException>(() => Quantiles.Of(x, 1.5));
    }

    [Fact]
    public void Interval_of_a_normal_mean_matches_the_normal_theory_interval()
    {
        var random = new Random(11);
        var x = Enumerable.Range(0, 400).Select(_ => 2 + PlantedMaps.Gaussian(random)).ToArray();
        double mean = x.Average(), sd = Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / (x.Length - 1));
        double half = 1.96 * sd / Math.Sqrt(x.Length);
        var e = new Bootstrap(Resamples: 4000).Mean(x);
        Assert.Equal(mean, e.Value, 12);
        Assert.InRange(e.Low, mean - half * 1.1, mean - half * 0.9);
        Assert.InRange(e.High, mean + half * 0.9, mean + half * 1.1);
        Assert.Equal(e, new Bootstrap(Resamples: 4000).Mean(x)); // seeded: the same interval every time
    }

    [Fact]
    public void Percentile_interval_covers_the_true_mean_of_a_skewed_distribution_about_95_percent_of_the_time()
    {
        var random = new Random(5);
        var bootstrap = new Bootstrap(Resamples: 1000);
        int covered = 0, trials = 300;
        for (int t = 0; t < trials; t++)
        {
            var x = Enumerable.Range(0, 40).Select(_ => -Math.Log(1 - random.NextDouble())).ToArray(); // Exponential(1), mean 1
            var e = (bootstrap with { Seed = t }).Mean(x);
            if (e.Low <= 1 && 1 <= e.High) covered++;
        }
        // The percentile bootstrap under-covers slightly for skewed data at n = 40 (about 0.93).
        Assert.InRange(covered / (double)trials, 0.89, 0.98);
    }

    [Fact]
    public void Fewer_than_two_units_give_no_interval_and_paired_arms_must_match()
    {
        var e = new Bootstrap().Mean(new[] { 3.0 });
        Assert.Equal(3.0, e.Value);
        Assert.True(double.IsNaN(e.Low) && double.IsNaN(e.High));
        Assert.Throws<VDiTLensException>(() => new Bootstrap().PairedDifference(new[] { 1.0, 2 }, new[] { 1.0 }));
        var d = new Bootstrap().PairedDifference(new[] { 2.0, 3, 4 }, new[] { 1.0, 2, 3 });
        Assert.Equal((1.0, 1.0, 1.0), (d.Value, d.Low, d.High));
    }
}
