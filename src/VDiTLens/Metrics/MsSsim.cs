using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// Multi-scale SSIM (Wang, Simoncelli &amp; Bovik 2003): per image and channel, the mean contrast-structure term at
/// scales 1 … M−1 and the mean SSIM at scale M, combined as Π csⱼ^wⱼ · SSIM_M^w_M with the standard weights
/// (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), then averaged over images and channels; float64. Each scale uses SSIM's
/// 11×11 Gaussian window (σ = 1.5, valid positions, same C1/C2) and halves the image by 2×2 averaging (an odd last row or
/// column is dropped). Negative terms are clamped to 0 before the power, as pytorch-msssim does.
/// Small images: the standard 5 scales need a side of 11·2⁴ = 176 pixels. Smaller images use the M finest scales
/// whose coarsest side is still ≥ 11 (<see cref="ScalesFor"/>) with the first M weights renormalised to sum 1; below
/// 22 pixels M = 1 and the value is SSIM (with SSIM's shrunken window under 11 pixels). Report M with the number.
/// </summary>
public static class MsSsim
{
    public static IReadOnlyList<double> StandardWeights { get; } = new[] { 0.0448, 0.2856, 0.3001, 0.2363, 0.1333 };

    /// <summary>The number of scales used for images of <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static int ScalesFor(long height, long width)
    {
        long side = Math.Min(height, width);
        if (side < 1) throw new VDiTLensException("MS-SSIM of an empty image is undefined");
        int scales = 1;
        while (scales < StandardWeights.Count && side >> scales >= Ssim.WindowSize) scales++;
        return scales;
    }

    /// <summary>The weights used with <paramref name="scales"/> scales: the first ones of the standard five, renormalised.</summary>
    public static double[] WeightsFor(int scales)
    {
        var w = StandardWeights.Take(scales).ToArray();
        double sum = w.Sum();
        return w.Select(v => v / sum).ToArray();
    }

    /// <summary>Mean MS-SSIM of images [N, C, H, W].</summary>
    public static double Of(Tensor reference, Tensor test, double dataRange = 1.0)
    {
        Shapes.CheckSame(reference, test, "MS-SSIM");
        if (reference.dim() != 4) throw new VDiTLensException($"MS-SSIM needs images [N, C, H, W], got [{string.Join(", ", reference.shape)}]");
        using var scope = torch.NewDisposeScope();
        long n = reference.shape[0], c = reference.shape[1], h = reference.shape[2], w = reference.shape[3];
        int scales = ScalesFor(h, w);
        var weights = WeightsFor(scales);
        var x = reference.to(ScalarType.Float64).cpu().reshape(n * c, 1, h, w);
        var y = test.to(ScalarType.Float64).cpu().reshape(n * c, 1, h, w);
        var product = torch.ones(n * c, ScalarType.Float64);
        for (int j = 0; j < scales; j++)
        {
            if (j > 0) (x, y) = (nn.functional.avg_pool2d(x, 2), nn.functional.avg_pool2d(y, 2));
            var (ssim, cs) = Ssim.Terms(x, y, Ssim.WindowFor(x.shape[2], x.shape[3]), dataRange);
            var term = j == scales - 1 ? ssim : cs;
            product = product * term.clamp_min(0).pow(weights[j]);
        }
        return product.mean().item<double>();
    }

    /// <summary>Mean MS-SSIM of the frames of videos [B, F, H, W, C] (channels last, as pipelines return them).</summary>
    public static double OfVideo(Tensor reference, Tensor test, double dataRange = 1.0)
    {
        Shapes.CheckSame(reference, test, "MS-SSIM");
        if (reference.dim() != 5) throw new VDiTLensException($"video MS-SSIM needs [B, F, H, W, C], got [{string.Join(", ", reference.shape)}]");
        using var a = Ssim.Frames(reference);
        using var b = Ssim.Frames(test);
        return Of(a, b, dataRange);
    }
}
