using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// Structural similarity (Wang et al. 2004) of two videos [F, H, W, 3] (or images [H, W, 3]) with values in [0, 1]:
/// Gaussian window 11×11 with σ = 1.5, "valid" filtering (no padding, as in the authors' MATLAB code), constants
/// C1 = (0.01·L)², C2 = (0.03·L)² with data range L = 1 (the 8-bit convention on 255 scaled to [0, 1]). Each colour
/// channel of each frame gets its mean SSIM over window positions; the result is the mean over channels and frames.
/// Frames smaller than the window use a window of their smaller side (σ scaled by the same ratio). Computed in float64.
/// </summary>
public static class Ssim
{
    public const int WindowSize = 11;
    public const double Sigma = 1.5;
    public const double K1 = 0.01;
    public const double K2 = 0.03;

    public static double Compute(Tensor a, Tensor b, double dataRange = 1.0)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new VDiTLensException($"SSIM needs two videos of the same shape; got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}]");
        if (a.dim() is not (3 or 4) || a.shape[^1] != 3)
            throw new VDiTLensException($"SSIM needs frames [F, H, W, 3] or [H, W, 3] in [0, 1]; got [{string.Join(", ", a.shape)}]");
        using var scope = torch.NewDisposeScope();
        var x = Planes(a);
        var y = Planes(b);
        int size = (int)Math.Min(WindowSize, Math.Min(x.shape[2], x.shape[3]));
        var window = Window(size, Sigma * size / WindowSize);
        Tensor Filter(Tensor t) => nn.functional.conv2d(t, window);
        double c1 = Math.Pow(K1 * dataRange, 2), c2 = Math.Pow(K2 * dataRange, 2);
        var mx = Filter(x);
        var my = Filter(y);
        var sxx = Filter(x * x) - mx * mx;
        var syy = Filter(y * y) - my * my;
        var sxy = Filter(x * y) - mx * my;
        var map = (2 * mx * my + c1) * (2 * sxy + c2) / ((mx * mx + my * my + c1) * (sxx + syy + c2));
        return map.mean().item<double>();
    }

    /// <summary>The normalised Gaussian window [1, 1, size, size] in float64.</summary>
    public static Tensor Window(int size = WindowSize, double sigma = Sigma)
    {
        var w = Weights(size, sigma);
        var outer = new double[size * size];
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++) outer[i * size + j] = w[i] * w[j];
        return torch.tensor(outer, dtype: ScalarType.Float64).view(1, 1, size, size);
    }

    /// <summary>1D Gaussian weights centred on the window, summing to 1.</summary>
    public static double[] Weights(int size = WindowSize, double sigma = Sigma)
    {
        double centre = (size - 1) / 2.0;
        var w = Enumerable.Range(0, size).Select(i => Math.Exp(-(i - centre) * (i - centre) / (2 * sigma * sigma))).ToArray();
        double sum = w.Sum();
        return w.Select(v => v / sum).ToArray();
    }

    /// <summary>[F, H, W, 3] → [F·3, 1, H, W] float64 on the CPU.</summary>
    private static Tensor Planes(Tensor video)
    {
        var v = video.detach().cpu().to(ScalarType.Float64);
        if (v.dim() == 3) v = v.unsqueeze(0);
        return v.permute(0, 3, 1, 2).reshape(v.shape[0] * 3, 1, v.shape[1], v.shape[2]);
    }
}
