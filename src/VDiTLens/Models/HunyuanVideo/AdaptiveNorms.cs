using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo;

/// <summary>LayerNorm without affine parameters (eps 1e-6) in the input's dtype, as the adaptive norms use.</summary>
internal static class PlainLayerNorm
{
    public static Tensor Apply(Tensor x, double eps = 1e-6) => nn.functional.layer_norm(x, new[] { x.shape[^1] }, null, null, eps);

    /// <summary>Apply(x)·(1 + scale) + shift with scale/shift [B, dim]; one fused kernel on CUDA in 16-bit types.</summary>
    public static Tensor Modulated(Tensor x, Tensor scale, Tensor shift) =>
        FusedOrReference.ModulatedLayerNorm(x, null, null, scale, shift, 1e-6,
            () => Apply(x) * (scale.unsqueeze(1) + 1) + shift.unsqueeze(1));
}

/// <summary>diffusers' AdaLayerNormZero (layer_norm): six modulation vectors from SiLU(temb), the first two applied.</summary>
public sealed class AdaLayerNormZero : nn.Module
{
    public Linear linear;

    public AdaLayerNormZero(long dim, Device device, ScalarType dtype) : base("AdaLayerNormZero") =>
        register_module("linear", linear = Layers.Linear(dim, 6 * dim, device, dtype));

    /// <returns>modulated x, gate_msa, shift_mlp, scale_mlp, gate_mlp (each [B, dim]).</returns>
    public (Tensor X, Tensor GateMsa, Tensor ShiftMlp, Tensor ScaleMlp, Tensor GateMlp) Forward(Tensor x, Tensor temb)
    {
        using var scope = torch.NewDisposeScope();
        var m = linear.forward(nn.functional.silu(temb)).chunk(6, 1);
        var y = PlainLayerNorm.Modulated(x, m[1], m[0]);
        return (y.MoveToOuterDisposeScope(), m[2].MoveToOuterDisposeScope(), m[3].MoveToOuterDisposeScope(),
            m[4].MoveToOuterDisposeScope(), m[5].MoveToOuterDisposeScope());
    }
}

/// <summary>diffusers' AdaLayerNormZeroSingle: shift, scale, gate from SiLU(temb).</summary>
public sealed class AdaLayerNormZeroSingle : nn.Module
{
    public Linear linear;

    public AdaLayerNormZeroSingle(long dim, Device device, ScalarType dtype) : base("AdaLayerNormZeroSingle") =>
        register_module("linear", linear = Layers.Linear(dim, 3 * dim, device, dtype));

    public (Tensor X, Tensor Gate) Forward(Tensor x, Tensor temb)
    {
        using var scope = torch.NewDisposeScope();
        var m = linear.forward(nn.functional.silu(temb)).chunk(3, 1);
        var y = PlainLayerNorm.Modulated(x, m[1], m[0]);
        return (y.MoveToOuterDisposeScope(), m[2].MoveToOuterDisposeScope());
    }
}

/// <summary>diffusers' AdaLayerNormContinuous (no affine, eps 1e-6): note the chunk order is scale, then shift.</summary>
public sealed class AdaLayerNormContinuous : nn.Module
{
    public Linear linear;

    public AdaLayerNormContinuous(long dim, Device device, ScalarType dtype) : base("AdaLayerNormContinuous") =>
        register_module("linear", linear = Layers.Linear(dim, 2 * dim, device, dtype));

    public Tensor Forward(Tensor x, Tensor conditioning)
    {
        using var scope = torch.NewDisposeScope();
        var m = linear.forward(nn.functional.silu(conditioning).to(x.dtype)).chunk(2, 1);
        return (PlainLayerNorm.Apply(x) * (m[0].unsqueeze(1) + 1) + m[1].unsqueeze(1)).MoveToOuterDisposeScope();
    }
}

/// <summary>HunyuanVideoAdaNorm: the token refiner's attention and MLP gates from SiLU(temb), each [B, 1, dim].</summary>
public sealed class HunyuanVideoAdaNorm : nn.Module
{
    public Linear linear;

    public HunyuanVideoAdaNorm(long dim, Device device, ScalarType dtype) : base("HunyuanVideoAdaNorm") =>
        register_module("linear", linear = Layers.Linear(dim, 2 * dim, device, dtype));

    public (Tensor GateMsa, Tensor GateMlp) Forward(Tensor temb)
    {
        using var scope = torch.NewDisposeScope();
        var m = linear.forward(nn.functional.silu(temb)).chunk(2, 1);
        return (m[0].unsqueeze(1).MoveToOuterDisposeScope(), m[1].unsqueeze(1).MoveToOuterDisposeScope());
    }
}
