using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>Peak signal-to-noise ratio 10·log10(L² / MSE) in dB over all values (data range L = 1 for [0, 1] frames); +∞ for identical inputs.</summary>
public static class Psnr
{
    public static double Compute(Tensor a, Tensor b, double dataRange = 1.0)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new VDiTLensException($"PSNR needs two tensors of the same shape; got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}]");
        using var scope = torch.NewDisposeScope();
        double mse = (a.detach().cpu().to(ScalarType.Float64) - b.detach().cpu().to(ScalarType.Float64)).square().mean().item<double>();
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(dataRange * dataRange / mse);
    }
}
