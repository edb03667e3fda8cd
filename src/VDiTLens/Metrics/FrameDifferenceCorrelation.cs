using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// How alike the motion of two videos [F, H, W, 3] is: the Pearson correlation of their temporal differences
/// (frame t+1 − frame t, all pixels and channels of all consecutive pairs). 1 = same changes in the same places;
/// NaN when either video does not change at all (or has a single frame).
/// </summary>
public static class FrameDifferenceCorrelation
{
    public static double Compute(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape) || a.dim() != 4)
            throw new VDiTLensException($"frame-difference correlation needs two videos [F, H, W, 3] of the same shape; got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}]");
        if (a.shape[0] < 2) return double.NaN;
        using var scope = torch.NewDisposeScope();
        Tensor Diff(Tensor v)
        {
            var d = v.detach().cpu().to(ScalarType.Float64);
            long f = d.shape[0];
            return (d.narrow(0, 1, f - 1) - d.narrow(0, 0, f - 1)).flatten();
        }
        var x = Diff(a);
        var y = Diff(b);
        x = x - x.mean();
        y = y - y.mean();
        double denominator = Math.Sqrt(x.square().sum().item<double>() * y.square().sum().item<double>());
        return denominator == 0 ? double.NaN : (x * y).sum().item<double>() / denominator;
    }
}
