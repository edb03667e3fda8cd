using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo;

/// <summary>
/// diffusers' normalization.RMSNorm: the mean square is taken in float32 whatever the input dtype (so a float64
/// model sees float32-rounded statistics, exactly as diffusers computes); half-precision results are cast to the
/// weight's dtype before the gain.
/// </summary>
public sealed class DiffusersRmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly double _eps;
    public Parameter weight;
    public double Eps => _eps;

    public DiffusersRmsNorm(long dim, double eps, Device device, ScalarType dtype) : base("RMSNorm")
    {
        _eps = eps;
        register_parameter("weight", weight = new Parameter(torch.ones(dim, dtype: dtype, device: device)));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var variance = x.to(ScalarType.Float32).pow(2).mean(new long[] { -1 }, keepdim: true);
        var inverse = torch.rsqrt(variance + _eps);
        // torch type promotion of x * float32: float64 stays float64, half types become float32.
        var promoted = x.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var y = x.to(promoted) * inverse.to(promoted);
        if (weight.dtype is ScalarType.Float16 or ScalarType.BFloat16) y = y.to(weight.dtype);
        return (y * weight).MoveToOuterDisposeScope();
    }
}
