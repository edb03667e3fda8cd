using VDiTLens.Models.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// Structural similarity (Wang et al. 2004) as in the original implementation and pytorch-msssim: an 11×11 Gaussian
/// window (σ = 1.5), 'valid' filtering (no padding), C1 = (0.01·range)², C2 = (0.03·range)², per channel, averaged
/// over every position, channel and image. Computed in float64. Images smaller than the window use a window of their
/// smaller side (rounded down to odd) with the same σ.
/// </summary>
public static class Ssim
{
    public const int WindowSize = 11;
    public const double Sigma = 1.5;
    public const double K1 = 0.01, K2 = 0.03;

    /// <summary>Mean SSIM of images [N, C, H, W].</summary>
    public static double Of(Tensor reference, Tensor test, double dataRange = 1.0)
    {
        Shapes.CheckSame(reference, test, "SSIM");
        if (reference.dim() != 4) throw new VDiTLensException($"SSIM needs images [N, C, H, W], got [{string.Join(", ", reference.shape)}]");
        using var scope = torch.NewDisposeScope();
        long n = reference.shape[0], c = reference.shape[1], h = reference.shape[2], w = reference.shape[3];
        var x = reference.to(ScalarType.Float64).cpu().reshape(n * c, 1, h, w);
        var y = test.to(ScalarType.Float64).cpu().reshape(n * c, 1, h, w);
        return Terms(x, y, WindowFor(h, w), dataRange).Ssim.mean().item<double>();
    }

    /// <summary>
    /// Per image of <paramref name="x"/> and <paramref name="y"/> [K, 1, H, W] (float64): the mean SSIM map and the mean
    /// contrast-structure map (2σxy + C2) / (σx² + σy² + C2), each [K], over the valid window positions.
    /// </summary>
    internal static (Tensor Ssim, Tensor ContrastStructure) Terms(Tensor x, Tensor y, int size, double dataRange)
    {
        var window = Window(size).view(1, 1, size, size);
        Tensor Filter(Tensor t) => CpuSafeConvolution.Conv2d(t, window, null);
        var (muX, muY) = (Filter(x), Filter(y));
        var sxx = Filter(x * x) - muX * muX;
        var syy = Filter(y * y) - muY * muY;
        var sxy = Filter(x * y) - muX * muY;
        double c1 = Math.Pow(K1 * dataRange, 2), c2 = Math.Pow(K2 * dataRange, 2);
        var cs = (2 * sxy + c2) / (sxx + syy + c2);
        var ssim = (2 * muX * muY + c1) / (muX * muX + muY * muY + c1) * cs;
        return (ssim.flatten(1).mean(new long[] { 1 }), cs.flatten(1).mean(new long[] { 1 }));
    }

    /// <summary>Mean SSIM of videos [B, F, H, W, C] (channels last, as pipelines return them).</summary>
    public static double OfVideo(Tensor reference, Tensor test, double dataRange = 1.0)
    {
        Shapes.CheckSame(reference, test, "SSIM");
        if (reference.dim() != 5) throw new VDiTLensException($"video SSIM needs [B, F, H, W, C], got [{string.Join(", ", reference.shape)}]");
        using var a = Frames(reference);
        using var b = Frames(test);
        return Of(a, b, dataRange);
    }

    internal static Tensor Frames(Tensor video) =>
        video.reshape(video.shape[0] * video.shape[1], video.shape[2], video.shape[3], video.shape[4]).permute(0, 3, 1, 2);

    /// <summary>The window side used for images of <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static int WindowFor(long height, long width)
    {
        long side = Math.Min(WindowSize, Math.Min(height, width));
        if (side % 2 == 0) side--;
        return side >= 1 ? (int)side : throw new VDiTLensException("SSIM of an empty image is undefined");
    }

    /// <summary>The normalised 2-D Gaussian window (outer product of the 1-D one), float64.</summary>
    public static Tensor Window(int size)
    {
        var g = Gaussian1D(size);
        var t = torch.tensor(g, dtype: ScalarType.Float64);
        return torch.outer(t, t);
    }

    public static double[] Gaussian1D(int size)
    {
        var g = new double[size];
        double centre = (size - 1) / 2.0, sum = 0;
        for (int i = 0; i < size; i++) sum += g[i] = Math.Exp(-Math.Pow(i - centre, 2) / (2 * Sigma * Sigma));
        for (int i = 0; i < size; i++) g[i] /= sum;
        return g;
    }
}
