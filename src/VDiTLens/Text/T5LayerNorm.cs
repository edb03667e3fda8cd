using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>
/// T5's layer norm: RMS scaling without mean subtraction or bias. The mean square is always computed in float32
/// (also in a float64 model, as transformers does); half-precision results are cast to the weight's dtype.
/// </summary>
public sealed class T5LayerNorm : nn.Module<Tensor, Tensor>
{
    private readonly double _eps;
    public Parameter weight;

    public T5LayerNorm(long dim, double eps, Device device, ScalarType dtype) : base("T5LayerNorm")
    {
        _eps = eps;
        register_parameter("weight", weight = new Parameter(torch.ones(dim, dtype: dtype, device: device)));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var variance = x.to(ScalarType.Float32).pow(2).mean(new long[] { -1 }, keepdim: true);
        var y = x * torch.rsqrt(variance + _eps);
        if (weight.dtype is ScalarType.Float16 or ScalarType.BFloat16) y = y.to(weight.dtype);
        return (weight * y).MoveToOuterDisposeScope();
    }
}
