using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>Peak signal-to-noise ratio in dB: 10·log10(peak² / MSE) over all elements; +∞ for identical inputs.</summary>
public static class Psnr
{
    public static double Compute(Tensor actual, Tensor reference, double peak = 1.0)
    {
        Shapes.Check(actual, reference, "PSNR");
        using var scope = torch.NewDisposeScope();
        double mse = (actual.to(ScalarType.Float64) - reference.to(ScalarType.Float64)).square().mean().item<double>();
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(peak * peak / mse);
    }
}

/// <summary>Relative L2 error ‖a − r‖ / ‖r‖ (0 when both are zero).</summary>
public static class RelativeError
{
    public static double Compute(Tensor actual, Tensor reference)
    {
        Shapes.Check(actual, reference, "relative error");
        using var scope = torch.NewDisposeScope();
        var r = reference.to(ScalarType.Float64);
        double diff = (actual.to(ScalarType.Float64) - r).norm().item<double>();
        double norm = r.norm().item<double>();
        return norm == 0 ? diff : diff / norm;
    }
}

internal static class Shapes
{
    public static void Check(Tensor a, Tensor b, string what)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new VDiTLensException($"{what}: shapes differ ([{string.Join(", ", a.shape)}] vs [{string.Join(", ", b.shape)}])");
    }
}
