using TorchSharp;
using VDiTLens.Metrics;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Metrics;

/// <summary>PSNR, SSIM and relative L2 against naive float64 loops written from the definitions.</summary>
public sealed class MetricReferenceTests(ITestOutputHelper output)
{
    private static (Tensor A, Tensor B) Pair(long[] shape, int seed)
    {
        using var g = new Generator((ulong)seed);
        var a = torch.rand(shape, ScalarType.Float32, generator: g);
        var b = (a + 0.1 * torch.randn(shape, ScalarType.Float32, generator: g)).clamp(0, 1);
        return (a, b);
    }

    [Fact]
    public void Psnr_is_each_videos_psnr_averaged_over_videos_not_the_pooled_error()
    {
        var (a, b) = Pair(new long[] { 2, 3, 6, 7, 3 }, 1);
        b[1] = (a[1] + 0.3 * (b[1] - a[1])).clamp(0, 1); // the second video is much closer: pooled and per-video differ
        var x = a.to(ScalarType.Float64).data<double>().ToArray();
        var y = b.to(ScalarType.Float64).data<double>().ToArray();
        double Naive(int from, int count)
        {
            double s = 0;
            for (int i = from; i < from + count; i++) s += (x[i] - y[i]) * (x[i] - y[i]);
            return 10 * Math.Log10(1.0 / (s / count));
        }
        int per = x.Length / 2;
        double mean = Psnr.MeanOverVideos(a, b), pooled = Naive(0, x.Length);
        double expectedMean = (Naive(0, per) + Naive(per, per)) / 2;
        output.WriteLine($"PSNR mean over videos {mean} vs naive {expectedMean}; pooled (not used) {pooled}");
        Assert.Equal(expectedMean, mean, 10);
        Assert.Equal(new[] { Naive(0, per), Naive(per, per) }, Psnr.PerVideo(a, b), new ToleranceComparer(1e-10));
        Assert.True(Math.Abs(mean - pooled) > 0.5, "the test pair should separate the two definitions");
        Assert.Equal(double.PositiveInfinity, Psnr.MeanOverVideos(a, a));
        Assert.Equal(10 * Math.Log10(4 / 0.25), Psnr.MeanOverVideos(torch.zeros(1, 4), torch.full(1, 4, 0.5), dataRange: 2), 12);
        Assert.Throws<VDiTLensException>(() => Psnr.MeanOverVideos(torch.zeros(4), torch.zeros(4)));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double p, double q) => Math.Abs(p - q) <= tolerance;
        public int GetHashCode(double value) => 0;
    }

    [Theory]
    [InlineData(16, 14)] // full 11×11 window
    [InlineData(8, 12)]  // window shrinks to 7
    public void Ssim_matches_a_naive_gaussian_window_loop(int height, int width)
    {
        var (a, b) = Pair(new long[] { 2, 3, height, width }, 2);
        double ssim = Ssim.Of(a, b);
        double naive = NaiveSsim(a, b, 1.0);
        output.WriteLine($"SSIM {height}×{width}: {ssim:R} vs naive {naive:R}, |Δ| {Math.Abs(ssim - naive):E2}");
        Assert.True(Math.Abs(ssim - naive) < 1e-12, $"SSIM {ssim} vs naive {naive}");
        Assert.Equal(1.0, Ssim.Of(a, a), 12);
        Assert.True(ssim < 0.99);
    }

    [Fact]
    public void Video_ssim_is_frame_ssim_of_channels_last_frames()
    {
        var (a, b) = Pair(new long[] { 2, 3, 12, 12, 3 }, 3);
        double video = Ssim.OfVideo(a, b);
        double frames = Ssim.Of(a.reshape(6, 12, 12, 3).permute(0, 3, 1, 2), b.reshape(6, 12, 12, 3).permute(0, 3, 1, 2));
        Assert.Equal(frames, video, 14);
    }

    [Fact]
    public void Relative_l2_matches_the_definition_and_rejects_shape_mismatch()
    {
        var (a, b) = Pair(new long[] { 3, 5 }, 4);
        var x = a.to(ScalarType.Float64).data<double>().ToArray();
        var y = b.to(ScalarType.Float64).data<double>().ToArray();
        double expected = Math.Sqrt(x.Zip(y, (p, q) => (p - q) * (p - q)).Sum()) / Math.Sqrt(x.Sum(p => p * p));
        Assert.Equal(expected, RelativeL2.Of(a, b), 12);
        Assert.Throws<VDiTLensException>(() => RelativeL2.Of(a, torch.zeros(5, 3)));
    }

    private static double NaiveSsim(Tensor reference, Tensor test, double range)
    {
        int n = (int)reference.shape[0], c = (int)reference.shape[1], h = (int)reference.shape[2], w = (int)reference.shape[3];
        var x = reference.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        var y = test.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        int size = Math.Min(11, Math.Min(h, w));
        if (size % 2 == 0) size--;
        var g1 = new double[size];
        double centre = (size - 1) / 2.0;
        for (int i = 0; i < size; i++) g1[i] = Math.Exp(-(i - centre) * (i - centre) / (2 * 1.5 * 1.5));
        double gs = g1.Sum();
        double c1 = Math.Pow(0.01 * range, 2), c2 = Math.Pow(0.03 * range, 2), total = 0;
        long count = 0;
        for (int img = 0; img < n * c; img++)
        for (int i = 0; i + size <= h; i++)
        for (int j = 0; j + size <= w; j++)
        {
            double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
            for (int u = 0; u < size; u++)
            for (int v = 0; v < size; v++)
            {
                double wt = g1[u] * g1[v] / (gs * gs);
                double p = x[img * h * w + (i + u) * w + j + v], q = y[img * h * w + (i + u) * w + j + v];
                mx += wt * p; my += wt * q; xx += wt * p * p; yy += wt * q * q; xy += wt * p * q;
            }
            double vx = xx - mx * mx, vy = yy - my * my, cov = xy - mx * my;
            total += (2 * mx * my + c1) * (2 * cov + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
            count++;
        }
        return total / count;
    }
}
