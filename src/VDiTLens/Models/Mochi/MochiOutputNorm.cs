using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi;

/// <summary>diffusers' AdaLayerNormContinuous as Mochi's <c>norm_out</c>: LayerNorm without affine, scale first then shift.</summary>
public sealed class MochiOutputNorm : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly long _dim;
    private readonly double _eps;
    public Linear linear;

    public MochiOutputNorm(long dim, long conditioningDim, double eps, Device device, ScalarType dtype) : base("AdaLayerNormContinuous")
    {
        _dim = dim;
        _eps = eps;
        register_module("linear", linear = Layers.Linear(conditioningDim, 2 * dim, device, dtype));
    }

    public override Tensor forward(Tensor x, Tensor conditioning)
    {
        using var scope = torch.NewDisposeScope();
        var m = linear.forward(nn.functional.silu(conditioning).to(x.dtype)).chunk(2, 1);
        var normed = nn.functional.layer_norm(x, new[] { _dim }, null, null, _eps);
        return (normed * (m[0] + 1).unsqueeze(1) + m[1].unsqueeze(1)).MoveToOuterDisposeScope();
    }
}
