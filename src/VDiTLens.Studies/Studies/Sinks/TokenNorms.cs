using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>Mean L2 norm of keys and values at sink positions vs all other positions (over batch and heads).</summary>
public sealed record NormComparison(string Site, int Sinks, double SinkKeyNorm, double OtherKeyNorm, double SinkValueNorm, double OtherValueNorm)
{
    public double KeyRatio => OtherKeyNorm > 0 ? SinkKeyNorm / OtherKeyNorm : double.NaN;
    public double ValueRatio => OtherValueNorm > 0 ? SinkValueNorm / OtherValueNorm : double.NaN;
}

public static class TokenNorms
{
    /// <param name="k">[B, H, L, D] as the kernel saw it</param>
    /// <param name="v">[B, H, L, D]</param>
    public static NormComparison Compare(string site, Tensor k, Tensor v, IReadOnlyCollection<long> sinks)
    {
        using var scope = torch.NewDisposeScope();
        var kn = k.to(ScalarType.Float64).norm(-1).mean(new long[] { 0, 1 }); // [L]
        var vn = v.to(ScalarType.Float64).norm(-1).mean(new long[] { 0, 1 });
        var isSink = torch.zeros(kn.shape[0], dtype: ScalarType.Bool);
        foreach (long s in sinks) isSink[s] = torch.tensor(true);
        var other = isSink.logical_not();
        double Mean(Tensor x, Tensor m) => m.any().item<bool>() ? x.masked_select(m).mean().item<double>() : double.NaN;
        return new NormComparison(site, sinks.Count, Mean(kn, isSink), Mean(kn, other), Mean(vn, isSink), Mean(vn, other));
    }
}
