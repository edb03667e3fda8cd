using VDiTLens.Metrics;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Metrics;

public sealed class ImageMetricTests
{
    [Fact]
    public void Psnr_matches_its_definition_and_is_infinite_for_identical_inputs()
    {
        TorchRuntime.Initialise();
        var a = TorchSharp.torch.rand(new long[] { 2, 3, 8, 8, 3 }, generator: new Generator(1));
        var b = (a + 0.05 * TorchSharp.torch.randn(a.shape, generator: new Generator(2))).clamp(0, 1);
        var x = a.data<float>().ToArray();
        var y = b.data<float>().ToArray();
        int half = x.Length / 2;
        double Naive(int from) => 10 * Math.Log10(1 / x.Skip(from).Take(half).Zip(y.Skip(from).Take(half), (p, q) => ((double)p - q) * ((double)p - q)).Average());
        Assert.Equal((Naive(0) + Naive(half)) / 2, Psnr.MeanOverVideos(b, a), 9);
        Assert.True(double.IsPositiveInfinity(Psnr.MeanOverVideos(a, a)));
    }

    [Fact]
    public void Ssim_matches_a_naive_windowed_reference()
    {
        TorchRuntime.Initialise();
        var a = TorchSharp.torch.rand(new long[] { 1, 2, 16, 14, 3 }, generator: new Generator(3));
        var b = (a * 0.8 + 0.2 * TorchSharp.torch.rand(a.shape, generator: new Generator(4)));
        double expected = NaiveSsim(a, b, 11);
        double actual = Ssim.OfVideo(b, a);
        Assert.True(Math.Abs(expected - actual) < 1e-12, $"naive {expected} vs {actual}");
        Assert.Equal(1.0, Ssim.OfVideo(a, a), 12);
        Assert.True(actual < 0.99);
    }

    [Fact]
    public void Relative_error_is_norm_of_difference_over_norm_of_reference()
    {
        TorchRuntime.Initialise();
        var r = TorchSharp.torch.tensor(new double[] { 3, 4 });
        var a = TorchSharp.torch.tensor(new double[] { 3, 5 });
        Assert.Equal(0.2, RelativeL2.Of(r, a), 12);
    }

    /// <summary>Each frame and channel, each valid window position, weighted sums in float64 loops.</summary>
    private static double NaiveSsim(Tensor reference, Tensor actual, int size)
    {
        long f = reference.shape[1], h = reference.shape[2], w = reference.shape[3], c = reference.shape[4];
        var r = reference.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        var a = actual.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        var g = Enumerable.Range(0, size).Select(i => Math.Exp(-Math.Pow(i - (size - 1) / 2.0, 2) / (2 * 1.5 * 1.5))).ToArray();
        double gs = g.Sum();
        double c1 = 1e-4, c2 = 9e-4, total = 0;
        long count = 0;
        for (long fi = 0; fi < f; fi++)
            for (long ch = 0; ch < c; ch++)
                for (long y0 = 0; y0 + size <= h; y0++)
                    for (long x0 = 0; x0 + size <= w; x0++)
                    {
                        double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
                        for (int dy = 0; dy < size; dy++)
                            for (int dx = 0; dx < size; dx++)
                            {
                                double wt = g[dy] * g[dx] / (gs * gs);
                                long idx = ((fi * h + y0 + dy) * w + x0 + dx) * c + ch;
                                double p = a[idx], q = r[idx];
                                mx += wt * p; my += wt * q; sxx += wt * p * p; syy += wt * q * q; sxy += wt * p * q;
                            }
                        double vx = sxx - mx * mx, vy = syy - my * my, cv = sxy - mx * my;
                        total += (2 * mx * my + c1) * (2 * cv + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
                        count++;
                    }
        return total / count;
    }
}
