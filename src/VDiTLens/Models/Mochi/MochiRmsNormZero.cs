using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi;

/// <summary>diffusers' MochiRMSNormZero: float32 RMS norm scaled by (1 + scale_msa); returns the other three modulations.</summary>
public sealed class MochiRmsNormZero : nn.Module
{
    private readonly double _eps;
    public Linear linear;

    public MochiRmsNormZero(long conditioningDim, long hiddenDim, double eps, Device device, ScalarType dtype) : base("MochiRMSNormZero")
    {
        _eps = eps;
        register_module("linear", linear = Layers.Linear(conditioningDim, hiddenDim, device, dtype));
    }

    /// <returns>normed x, gate_msa, scale_mlp, gate_mlp (each [B, D]).</returns>
    public (Tensor Normed, Tensor GateMsa, Tensor ScaleMlp, Tensor GateMlp) Forward(Tensor x, Tensor temb)
    {
        using var scope = torch.NewDisposeScope();
        var m = linear.forward(nn.functional.silu(temb)).chunk(4, 1);
        var f = ScalarType.Float32;
        var scale = m[0].to(f) + 1;
        var normed = FusedOrReference.RmsModulate(null, x, scale, _eps,
            () => (MochiModulatedRmsNorm.Apply(x.to(f), _eps) * scale.unsqueeze(1)).to(x.dtype));
        return (normed.MoveToOuterDisposeScope(), m[1].MoveToOuterDisposeScope(),
            m[2].MoveToOuterDisposeScope(), m[3].MoveToOuterDisposeScope());
    }
}

/// <summary>diffusers' MochiLayerNormContinuous (the last block's text norm): float32 RMS norm scaled by 1 + linear_1(silu(temb)).</summary>
public sealed class MochiLayerNormContinuous : nn.Module
{
    private readonly double _eps;
    public Linear linear_1;

    public MochiLayerNormContinuous(long dim, long conditioningDim, double eps, Device device, ScalarType dtype) : base("MochiLayerNormContinuous")
    {
        _eps = eps;
        register_module("linear_1", linear_1 = Layers.Linear(conditioningDim, dim, device, dtype));
    }

    public Tensor Forward(Tensor x, Tensor temb)
    {
        using var scope = torch.NewDisposeScope();
        var scale = linear_1.forward(nn.functional.silu(temb).to(x.dtype));
        return MochiModulatedRmsNorm.Apply(x, _eps, scale.unsqueeze(1).to(ScalarType.Float32) + 1).MoveToOuterDisposeScope();
    }
}
