using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX;

/// <summary>diffusers' AdaLayerNorm as CogVideoX's <c>norm_out</c> (chunk_dim 1: shift first, then scale).</summary>
public sealed class CogVideoXOutputNorm : nn.Module<Tensor, Tensor, Tensor>
{
    public Linear linear;
    public LayerNorm norm;

    public CogVideoXOutputNorm(long conditioningDim, long dim, bool affine, double eps, Device device, ScalarType dtype) : base("AdaLayerNorm")
    {
        register_module("linear", linear = Layers.Linear(conditioningDim, 2 * dim, device, dtype));
        register_module("norm", norm = nn.LayerNorm(dim, eps, affine, affine, device: device, dtype: dtype));
    }

    public override Tensor forward(Tensor x, Tensor temb)
    {
        using var scope = torch.NewDisposeScope();
        var m = linear.forward(nn.functional.silu(temb)).chunk(2, 1);
        return (norm.forward(x) * (m[1] + 1).unsqueeze(1) + m[0].unsqueeze(1)).MoveToOuterDisposeScope();
    }
}
