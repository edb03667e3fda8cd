using TorchSharp;
using VDiTLens.Metrics;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Metrics;

public sealed class MsSsimTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(10, 9, 1)]
    [InlineData(21, 40, 1)]
    [InlineData(22, 22, 2)]
    [InlineData(32, 48, 2)]
    [InlineData(44, 44, 3)]
    [InlineData(64, 64, 3)]
    [InlineData(175, 300, 4)]
    [InlineData(176, 176, 5)]
    [InlineData(480, 832, 5)]
    public void Uses_the_scales_whose_coarsest_side_still_holds_the_11_pixel_window(int height, int width, int scales)
    {
        Assert.Equal(scales, MsSsim.ScalesFor(height, width));
        var weights = MsSsim.WeightsFor(scales);
        Assert.Equal(1.0, weights.Sum(), 12);
        Assert.Equal(0.0448 / MsSsim.StandardWeights.Take(scales).Sum(), weights[0], 12);
    }

    [Theory]
    [InlineData(48, 40)] // 2 scales
    [InlineData(47, 53)] // 3 scales (47, 23, 11), odd rows and columns dropped when halving
    [InlineData(9, 12)]  // 1 scale: plain SSIM with a 9×9 window
    public void Matches_a_direct_float64_loop_implementation(int height, int width)
    {
        using var g = new Generator(11);
        var a = torch.rand(new long[] { 2, 3, height, width }, ScalarType.Float64, generator: g);
        var b = (a + 0.15 * torch.randn(a.shape, ScalarType.Float64, generator: g)).clamp(0, 1);
        double actual = MsSsim.Of(a, b);
        double expected = NaiveMsSsim(a, b);
        output.WriteLine($"{height}×{width}: MS-SSIM {actual:R} vs loop {expected:R} ({MsSsim.ScalesFor(height, width)} scales)");
        Assert.True(Math.Abs(actual - expected) < 1e-12, $"MS-SSIM {actual} vs loop {expected}");
        Assert.InRange(actual, 0.05, 0.99);
    }

    [Fact]
    public void Is_one_for_identical_videos_and_falls_monotonically_with_noise()
    {
        var video = new SyntheticTexture(3).Pan(3, 64, 64, 1, 0).unsqueeze(0);
        Assert.Equal(1.0, MsSsim.OfVideo(video, video), 12);
        using var g = new Generator(5);
        var noise = torch.randn(video.shape, ScalarType.Float64, generator: g);
        var values = new[] { 0.01, 0.03, 0.1, 0.3 }.Select(s => MsSsim.OfVideo(video, (video + s * noise).clamp(0, 1))).ToArray();
        output.WriteLine($"MS-SSIM at noise σ 0.01/0.03/0.1/0.3: {string.Join(" / ", values.Select(v => v.ToString("F4")))}");
        for (int i = 1; i < values.Length; i++) Assert.True(values[i] < values[i - 1], $"not monotone: {string.Join(", ", values)}");
    }

    /// <summary>Wang et al.'s MS-SSIM written out: explicit window sums at each scale, explicit 2×2 block means between scales.</summary>
    private static double NaiveMsSsim(Tensor reference, Tensor test)
    {
        int n = (int)reference.shape[0] * (int)reference.shape[1], h = (int)reference.shape[2], w = (int)reference.shape[3];
        var x = reference.contiguous().data<double>().ToArray();
        var y = test.contiguous().data<double>().ToArray();
        double[] weights = { 0.0448, 0.2856, 0.3001, 0.2363, 0.1333 };
        int scales = 1;
        while (scales < 5 && Math.Min(h, w) >> scales >= 11) scales++;
        double weightSum = weights.Take(scales).Sum(), total = 0;
        for (int img = 0; img < n; img++)
        {
            var p = x.Skip(img * h * w).Take(h * w).ToArray();
            var q = y.Skip(img * h * w).Take(h * w).ToArray();
            int hh = h, ww = w;
            double product = 1;
            for (int j = 0; j < scales; j++)
            {
                if (j > 0) (p, q, hh, ww) = (Halve(p, hh, ww), Halve(q, hh, ww), hh / 2, ww / 2);
                var (ssim, cs) = MeanTerms(p, q, hh, ww);
                product *= Math.Pow(Math.Max(j == scales - 1 ? ssim : cs, 0), weights[j] / weightSum);
            }
            total += product;
        }
        return total / n;
    }

    private static double[] Halve(double[] image, int h, int w)
    {
        var result = new double[h / 2 * (w / 2)];
        for (int i = 0; i < h / 2; i++)
        for (int j = 0; j < w / 2; j++)
            result[i * (w / 2) + j] = (image[2 * i * w + 2 * j] + image[2 * i * w + 2 * j + 1] + image[(2 * i + 1) * w + 2 * j] + image[(2 * i + 1) * w + 2 * j + 1]) / 4;
        return result;
    }

    private static (double Ssim, double Cs) MeanTerms(double[] x, double[] y, int h, int w)
    {
        int size = Math.Min(11, Math.Min(h, w));
        if (size % 2 == 0) size--;
        var g = new double[size];
        for (int i = 0; i < size; i++) g[i] = Math.Exp(-Math.Pow(i - (size - 1) / 2.0, 2) / (2 * 1.5 * 1.5));
        double gs = g.Sum(), c1 = 1e-4, c2 = 9e-4, ssim = 0, cs = 0;
        int count = 0;
        for (int i = 0; i + size <= h; i++)
        for (int j = 0; j + size <= w; j++)
        {
            double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
            for (int u = 0; u < size; u++)
            for (int v = 0; v < size; v++)
            {
                double wt = g[u] * g[v] / (gs * gs), p = x[(i + u) * w + j + v], q = y[(i + u) * w + j + v];
                mx += wt * p; my += wt * q; xx += wt * p * p; yy += wt * q * q; xy += wt * p * q;
            }
            double contrast = (2 * (xy - mx * my) + c2) / (xx - mx * mx + yy - my * my + c2);
            cs += contrast;
            ssim += (2 * mx * my + c1) / (mx * mx + my * my + c1) * contrast;
            count++;
        }
        return (ssim / count, cs / count);
    }
}
