using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Llama;

/// <summary>transformers' LlamaRMSNorm: normalised in float32 (float64 stays float64), cast back, then scaled by the gain.</summary>
public sealed class LlamaRmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly double _eps;
    public Parameter weight;

    public LlamaRmsNorm(long dim, double eps, Device device, ScalarType dtype) : base("LlamaRMSNorm")
    {
        _eps = eps;
        register_parameter("weight", weight = new Parameter(torch.ones(dim, dtype: dtype, device: device)));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var compute = x.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var h = x.to(compute);
        h = h * torch.rsqrt(h.pow(2).mean(new long[] { -1 }, keepdim: true) + _eps);
        return (weight * h.to(x.dtype)).MoveToOuterDisposeScope();
    }
}
