using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX;

/// <summary>
/// diffusers' CogVideoXLayerNormZero: one LayerNorm shared by both streams, each modulated by its own
/// shift/scale from the time embedding; also returns the two gates.
/// </summary>
public sealed class CogVideoXLayerNormZero : nn.Module
{
    private readonly double _eps;
    public Linear linear;
    public LayerNorm norm;

    public CogVideoXLayerNormZero(long conditioningDim, long dim, bool affine, double eps, Device device, ScalarType dtype) : base("CogVideoXLayerNormZero")
    {
        _eps = eps;
        register_module("linear", linear = Layers.Linear(conditioningDim, 6 * dim, device, dtype));
        register_module("norm", norm = nn.LayerNorm(dim, eps, affine, affine, device: device, dtype: dtype));
    }

    /// <returns>modulated video [B, N, D], modulated text [B, L, D], video gate and text gate [B, 1, D].</returns>
    public (Tensor Video, Tensor Text, Tensor Gate, Tensor TextGate) Forward(Tensor video, Tensor text, Tensor temb)
    {
        using var scope = torch.NewDisposeScope();
        var m = linear.forward(nn.functional.silu(temb)).chunk(6, 1);
        var v = FusedOrReference.ModulatedLayerNorm(video, norm.weight, norm.bias, m[1], m[0], _eps,
            () => norm.forward(video) * (m[1] + 1).unsqueeze(1) + m[0].unsqueeze(1));
        var t = FusedOrReference.ModulatedLayerNorm(text, norm.weight, norm.bias, m[4], m[3], _eps,
            () => norm.forward(text) * (m[4] + 1).unsqueeze(1) + m[3].unsqueeze(1));
        return (v.MoveToOuterDisposeScope(), t.MoveToOuterDisposeScope(),
            m[2].unsqueeze(1).MoveToOuterDisposeScope(), m[5].unsqueeze(1).MoveToOuterDisposeScope());
    }
}
