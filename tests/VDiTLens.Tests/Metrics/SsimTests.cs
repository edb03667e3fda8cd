using TorchSharp;
using VDiTLens.Metrics;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Metrics;

public sealed class SsimTests
{
    [Fact]
    public void Matches_a_naive_float64_reference_with_an_11x11_gaussian_window()
    {
        TorchRuntime.Initialise();
        var generator = new Generator(5);
        using var a = torch.rand(new long[] { 2, 16, 14, 3 }, ScalarType.Float64, generator: generator);
        using var noise = torch.rand(new long[] { 2, 16, 14, 3 }, ScalarType.Float64, generator: generator);
        using var b = (a * 0.7 + noise * 0.3).to(ScalarType.Float32);
        double actual = Ssim.OfVideo(a.unsqueeze(0), b.unsqueeze(0));
        double expected = NaiveSsim(ToArray(a), ToArray(b), 2, 16, 14);
        Assert.InRange(Math.Abs(actual - expected), 0, 1e-12); // b is float32: both see the same values, both sum in float64
        Assert.InRange(actual, 0.1, 0.99);
    }

    [Fact]
    public void Constant_frames_reduce_to_the_luminance_term()
    {
        TorchRuntime.Initialise();
        using var a = torch.full(new long[] { 1, 12, 12, 3 }, 0.2, ScalarType.Float64);
        using var b = torch.full(new long[] { 1, 12, 12, 3 }, 0.6, ScalarType.Float64);
        // (2·0.2·0.6 + C1) / (0.2² + 0.6² + C1), C1 = 0.01²; the contrast-structure term is C2 / C2 = 1
        Assert.Equal(0.2401 / 0.4001, Ssim.OfVideo(a.unsqueeze(0), b.unsqueeze(0)), 12);
        Assert.Equal(1.0, Ssim.OfVideo(a.unsqueeze(0), a.unsqueeze(0)), 12);
    }

    [Fact]
    public void Is_one_for_identical_videos_and_symmetric()
    {
        TorchRuntime.Initialise();
        using var a = torch.rand(3, 20, 20, 3, generator: new Generator(1));
        using var b = torch.rand(3, 20, 20, 3, generator: new Generator(2));
        Assert.Equal(1.0, Ssim.OfVideo(a.unsqueeze(0), a.unsqueeze(0)), 9);
        Assert.Equal(Ssim.OfVideo(a.unsqueeze(0), b.unsqueeze(0)), Ssim.OfVideo(b.unsqueeze(0), a.unsqueeze(0)), 12);
        Assert.Throws<VDiTLensException>(() => Ssim.OfVideo(a.unsqueeze(0), b[0].unsqueeze(0)));
    }

    [Fact]
    public void Psnr_of_a_uniform_error_of_a_tenth_is_20_db()
    {
        TorchRuntime.Initialise();
        using var a = torch.zeros(2, 4, 4, 3, dtype: ScalarType.Float64);
        using var b = torch.full(new long[] { 2, 4, 4, 3 }, 0.1, ScalarType.Float64);
        Assert.Equal(20.0, Psnr.MeanOverVideos(a, b), 9);
        Assert.Equal(double.PositiveInfinity, Psnr.MeanOverVideos(a, a));
    }

    [Fact]
    public void Frame_difference_correlation_is_one_for_the_same_motion_and_minus_one_for_the_inverse()
    {
        TorchRuntime.Initialise();
        using var a = torch.rand(4, 6, 6, 3, generator: new Generator(3), dtype: ScalarType.Float64);
        using var inverse = 1 - a;
        using var brighter = a * 0.5 + 0.25;
        Assert.Equal(1.0, FrameDifferenceCorrelation.Compute(a, brighter), 12);
        Assert.Equal(-1.0, FrameDifferenceCorrelation.Compute(a, inverse), 12);
        using var still = torch.zeros(4, 6, 6, 3);
        Assert.True(double.IsNaN(FrameDifferenceCorrelation.Compute(a.to(ScalarType.Float32), still)));
    }

    private static double[] ToArray(Tensor t) => t.to(ScalarType.Float64).contiguous().data<double>().ToArray();

    /// <summary>Direct transcription of Wang et al.: 11×11 Gaussian (σ 1.5) weighted statistics at every valid window position.</summary>
    private static double NaiveSsim(double[] a, double[] b, int frames, int height, int width)
    {
        const int n = 11;
        var w1 = Enumerable.Range(0, n).Select(i => Math.Exp(-(i - 5.0) * (i - 5.0) / (2 * 1.5 * 1.5))).ToArray();
        double norm = w1.Sum() * w1.Sum();
        double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03, total = 0;
        int count = 0;
        for (int f = 0; f < frames; f++)
        for (int c = 0; c < 3; c++)
        for (int y0 = 0; y0 + n <= height; y0++)
        for (int x0 = 0; x0 + n <= width; x0++)
        {
            double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
            for (int dy = 0; dy < n; dy++)
            for (int dx = 0; dx < n; dx++)
            {
                double w = w1[dy] * w1[dx] / norm;
                int i = ((f * height + y0 + dy) * width + x0 + dx) * 3 + c;
                mx += w * a[i];
                my += w * b[i];
                xx += w * a[i] * a[i];
                yy += w * b[i] * b[i];
                xy += w * a[i] * b[i];
            }
            double vx = xx - mx * mx, vy = yy - my * my, cxy = xy - mx * my;
            total += (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
            count++;
        }
        return total / count;
    }
}
