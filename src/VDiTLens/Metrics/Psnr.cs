using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// Peak signal-to-noise ratio 10·log10(range² / MSE) in dB, computed in float64. Identical inputs give +∞.
/// </summary>
public static class Psnr
{
    /// <summary>PSNR over all elements of two tensors of equal shape (e.g. one video or image).</summary>
    public static double Of(Tensor reference, Tensor test, double dataRange = 1.0)
    {
        Shapes.CheckSame(reference, test, "PSNR");
        using var scope = torch.NewDisposeScope();
        double mse = (reference.to(ScalarType.Float64) - test.to(ScalarType.Float64)).square().mean().cpu().item<double>();
        return FromMse(mse, dataRange);
    }

    /// <summary>Mean over items (dim 0) of each item's PSNR: for a batch of videos [B, ...]. Infinite if any item is identical.</summary>
    public static double MeanOverItems(Tensor reference, Tensor test, double dataRange = 1.0)
    {
        Shapes.CheckSame(reference, test, "PSNR");
        long items = reference.shape[0];
        if (items == 0) throw new VDiTLensException("PSNR of an empty batch is undefined");
        double sum = 0;
        for (long i = 0; i < items; i++)
        {
            using var a = reference[i];
            using var b = test[i];
            sum += Of(a, b, dataRange);
        }
        return sum / items;
    }

    public static double FromMse(double mse, double dataRange = 1.0) =>
        mse <= 0 ? double.PositiveInfinity : 10.0 * Math.Log10(dataRange * dataRange / mse);
}
