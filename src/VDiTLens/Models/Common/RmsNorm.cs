using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Common;

/// <summary>
/// RMS normalisation over the last dimension, x / √(mean(x²) + ε), with an optional learned gain <c>weight</c>; the
/// <see cref="RmsNormPrecision"/> says in which dtypes it computes.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly double _eps;
    public Parameter? weight;
    public double Eps => _eps;
    public RmsNormPrecision Precision { get; }

    public RmsNorm(long dim, double eps, Device device, ScalarType dtype, bool affine = true,
        RmsNormPrecision precision = RmsNormPrecision.InputDtype) : base("RMSNorm")
    {
        _eps = eps;
        Precision = precision;
        if (affine) register_parameter("weight", weight = new Parameter(torch.ones(dim, dtype: dtype, device: device)));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var y = Precision switch
        {
            RmsNormPrecision.InputDtype => Gain(Normalise(x, x)),
            RmsNormPrecision.Float32MeanSquare => Gain(ToHalfWeightDtype(Normalise(x, x.to(ScalarType.Float32)))),
            RmsNormPrecision.Float32MeanSquareCastLast => Gain(Normalise(x, x.to(ScalarType.Float32))).to(x.dtype),
            RmsNormPrecision.Float32NormaliseThenGain => Gain(NormaliseWide(x).to(x.dtype)),
            _ => throw new VDiTLensException($"RmsNorm precision {Precision}: unknown"),
        };
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>x times the inverse root of the mean square of <paramref name="statistics"/> (x or x in float32), in torch's promoted dtype.</summary>
    private Tensor Normalise(Tensor x, Tensor statistics) =>
        x * torch.rsqrt(statistics.pow(2).mean(new long[] { -1 }, keepdim: true) + _eps);

    private Tensor NormaliseWide(Tensor x)
    {
        var wide = x.to(x.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32);
        return Normalise(wide, wide);
    }

    private Tensor ToHalfWeightDtype(Tensor y) =>
        weight is { dtype: ScalarType.Float16 or ScalarType.BFloat16 } w ? y.to(w.dtype) : y;

    private Tensor Gain(Tensor y) => weight is null ? y : y * weight;
}
