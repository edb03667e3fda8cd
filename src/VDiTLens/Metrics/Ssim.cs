using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// Structural similarity (Wang et al. 2004): 11×11 Gaussian window (σ = 1.5), C1 = (0.01·L)², C2 = (0.03·L)², computed
/// on every frame and channel over the "valid" window positions (no padding) and averaged. Videos are
/// [B, F, H, W, C] (the pipelines' layout) or single images [H, W, C]; frames smaller than the window use a window
/// of the frame's smaller side (odd).
/// </summary>
public static class Ssim
{
    public const int DefaultWindow = 11;
    public const double Sigma = 1.5;

    public static double Compute(Tensor actual, Tensor reference, double dataRange = 1.0, int window = DefaultWindow)
    {
        Shapes.Check(actual, reference, "SSIM");
        using var scope = torch.NewDisposeScope();
        var a = Planes(actual);
        var r = Planes(reference);
        int size = Math.Min(window, (int)Math.Min(a.shape[2], a.shape[3]));
        if (size % 2 == 0) size--;
        var kernel = Kernel(size).view(1, 1, size, size);
        Tensor Blur(Tensor x) => torch.nn.functional.conv2d(x, kernel);
        var muA = Blur(a);
        var muR = Blur(r);
        var varA = Blur(a * a) - muA * muA;
        var varR = Blur(r * r) - muR * muR;
        var cov = Blur(a * r) - muA * muR;
        double c1 = Math.Pow(0.01 * dataRange, 2), c2 = Math.Pow(0.03 * dataRange, 2);
        var map = (2 * muA * muR + c1) * (2 * cov + c2) / ((muA * muA + muR * muR + c1) * (varA + varR + c2));
        return map.mean().item<double>();
    }

    /// <summary>The normalised Gaussian window (float64, [size, size]).</summary>
    public static Tensor Kernel(int size)
    {
        var g = Enumerable.Range(0, size).Select(i => Math.Exp(-Math.Pow(i - (size - 1) / 2.0, 2) / (2 * Sigma * Sigma))).ToArray();
        double sum = g.Sum();
        var g1 = torch.tensor(g.Select(x => x / sum).ToArray(), dtype: ScalarType.Float64);
        return torch.outer(g1, g1);
    }

    /// <summary>[..., H, W, C] → [N, 1, H, W] float64 planes.</summary>
    private static Tensor Planes(Tensor x)
    {
        if (x.dim() < 3) throw new VDiTLensException($"SSIM needs [..., height, width, channels]; got [{string.Join(", ", x.shape)}]");
        long h = x.shape[^3], w = x.shape[^2], c = x.shape[^1];
        return x.to(ScalarType.Float64).reshape(-1, h, w, c).permute(0, 3, 1, 2).reshape(-1, 1, h, w);
    }
}
