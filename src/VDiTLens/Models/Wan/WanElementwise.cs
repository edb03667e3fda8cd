using TorchSharp;
using VDiTLens.Models.Common;
using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan;

/// <summary>
/// The element-wise stages of a Wan block. On CUDA in bfloat16/float16 each runs as one fused kernel
/// (<see cref="FusedKernels"/>); everywhere else, when a kernel cannot run on the device, and as the reference the
/// fused kernels are checked against, the <c>Reference</c> methods compute exactly what diffusers' module code does.
/// </summary>
public static class WanElementwise
{
    /// <summary>(norm(x in float32) · (1 + scale) + shift) cast to x's dtype; scale/shift may be null (no modulation).</summary>
    public static Tensor ModulatedNorm(Fp32LayerNorm norm, Tensor x, Tensor? scale, Tensor? shift) =>
        (FusedKernels.Supports(x) && PerBatch(scale, x) && PerBatch(shift, x) ? FusedKernels.ModulatedLayerNorm(x, norm.weight, norm.bias, scale, shift, norm.Eps) : null)
            ?? ModulatedNormReference(norm, x, scale, shift);

    /// <summary>
    /// Whether a modulation tensor holds one vector per batch row ([B, 1, dim]), which the fused kernels take; per-token
    /// modulation ([B, L, dim], Wan2.2 TI2V's per-token timesteps) runs the reference path.
    /// </summary>
    private static bool PerBatch(Tensor? modulation, Tensor x) => modulation is null || modulation.numel() == x.shape[0] * x.shape[^1];

    public static Tensor ModulatedNormReference(Fp32LayerNorm norm, Tensor x, Tensor? scale, Tensor? shift)
    {
        using var scope = torch.NewDisposeScope();
        var y = norm.forward(x.to(ScalarType.Float32));
        if (scale is not null && shift is not null) y = y * (scale + 1) + shift;
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>(x in float32 + y·gate) cast to x's dtype; <paramref name="upcastY"/> casts y to float32 first.</summary>
    public static Tensor GatedResidual(Tensor x, Tensor y, Tensor gate, bool upcastY) =>
        (FusedKernels.Supports(x) && PerBatch(gate, x) && y.dtype == x.dtype && y.shape.SequenceEqual(x.shape) ? FusedKernels.GatedResidual(x, y, gate) : null)
            ?? GatedResidualReference(x, y, gate, upcastY);

    public static Tensor GatedResidualReference(Tensor x, Tensor y, Tensor gate, bool upcastY)
    {
        using var scope = torch.NewDisposeScope();
        var product = (upcastY ? y.to(ScalarType.Float32) : y) * gate;
        return (x.to(ScalarType.Float32) + product).to(x.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// RMS norm across heads of x [B, L, H·D], then (with tables) rotary per head; returns [B, L, H, D].
    /// </summary>
    public static Tensor NormRotary(RmsNorm norm, Tensor x, long heads, (Tensor Cos, Tensor Sin)? rotary)
    {
        long headDim = x.shape[^1] / heads;
        if (norm.weight is not null && FusedKernels.Supports(x) && headDim % 8 == 0 && x.dim() == 3
            && FusedKernels.RmsNormRotary(x, norm.weight, norm.Eps, rotary?.Cos, rotary?.Sin, headDim) is { } fused)
            using (fused) return fused.view(x.shape[0], x.shape[1], heads, headDim);
        return NormRotaryReference(norm, x, heads, rotary);
    }

    public static Tensor NormRotaryReference(RmsNorm norm, Tensor x, long heads, (Tensor Cos, Tensor Sin)? rotary)
    {
        using var scope = torch.NewDisposeScope();
        var y = norm.forward(x).unflatten(2, new long[] { heads, x.shape[^1] / heads });
        if (rotary is { } r) y = WanRotaryEmbedding.Apply(y, r.Cos, r.Sin);
        return y.MoveToOuterDisposeScope();
    }
}
