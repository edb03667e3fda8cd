using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// Peak signal-to-noise ratio 10·log10(range² / MSE) in dB, computed in float64. The project's one definition: the
/// PSNR of each video (item along dim 0) over all of its elements, then the mean over videos, as sparse-attention
/// papers (Sparse VideoGen, STA) report it. Pooling the squared error of all videos first would weight the mean
/// towards the worst video (log of a mean ≠ mean of logs), so the two definitions differ. A video identical to its
/// reference has PSNR +∞, and so does the mean over a batch that contains one.
/// </summary>
public static class Psnr
{
    /// <summary>Mean over videos (dim 0) of each video's PSNR: for a batch [B, ...] (a single video needs a leading dim of 1).</summary>
    public static double MeanOverVideos(Tensor reference, Tensor test, double dataRange = 1.0) => PerVideo(reference, test, dataRange).Average();

    /// <summary>Each video's PSNR over all of its elements, for a batch [B, ...].</summary>
    public static double[] PerVideo(Tensor reference, Tensor test, double dataRange = 1.0)
    {
        Shapes.CheckSame(reference, test, "PSNR");
        if (reference.dim() < 2 || reference.shape[0] == 0)
            throw new VDiTLensException($"PSNR needs a batch of videos [B, ...] with B ≥ 1; got [{string.Join(", ", reference.shape)}]");
        using var scope = torch.NewDisposeScope();
        var mse = (reference.to(ScalarType.Float64).cpu() - test.to(ScalarType.Float64).cpu()).square().flatten(1).mean(new long[] { 1 });
        return mse.data<double>().ToArray().Select(m => FromMse(m, dataRange)).ToArray();
    }

    public static double FromMse(double mse, double dataRange = 1.0) =>
        mse <= 0 ? double.PositiveInfinity : 10.0 * Math.Log10(dataRange * dataRange / mse);
}
