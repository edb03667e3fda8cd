using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>
/// Massive activations in one residual-stream tensor: the largest |h| against the median |h| (with its token and
/// channel), and the largest token norm against the median token norm (with its token).
/// </summary>
public sealed record ResidualStats(string Key, double MaxAbs, double MedianAbs, long MaxToken, string MaxLocation, long MaxChannel,
    double MaxTokenNorm, double MedianTokenNorm, long MaxNormToken, string MaxNormLocation)
{
    public double AbsRatio => MedianAbs > 0 ? MaxAbs / MedianAbs : double.NaN;
    public double NormRatio => MedianTokenNorm > 0 ? MaxTokenNorm / MedianTokenNorm : double.NaN;
}

public static class ResidualMagnitudes
{
    /// <param name="h">[B, L, C]; batch rows are pooled.</param>
    public static ResidualStats Measure(string key, Tensor h, TokenLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        var x = h.detach().to(ScalarType.Float32).cpu();
        long l = x.shape[1], c = x.shape[2];
        var abs = x.abs();
        long flat = abs.argmax().item<long>();
        long token = flat / c % l, channel = flat % c;
        var norms = x.to(ScalarType.Float64).norm(-1).flatten(); // [B·L]
        long normAt = norms.argmax().item<long>() % l;
        return new ResidualStats(key, abs.max().item<float>(), abs.flatten().median().item<float>(), token, layout.Describe(token), channel,
            norms.max().item<double>(), norms.median().item<double>(), normAt, layout.Describe(normAt));
    }
}
