using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Models.Common;

/// <summary>
/// Element-wise stages shared by CogVideoX, Mochi-1 and HunyuanVideo: one fused kernel on CUDA in bfloat16/float16
/// (<see cref="FusedKernels"/>, <see cref="FamilyKernels"/>), else (and whenever the kernel cannot run on the device)
/// the caller's reference, which is diffusers' exact op sequence and what every CPU and float32/float64 run computes.
/// </summary>
public static class FusedOrReference
{
    /// <summary>(LayerNorm(x)·w + b)·(1 + scale) + shift; scale/shift [B, D] or [B, 1, D].</summary>
    public static Tensor ModulatedLayerNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor scale, Tensor shift, double eps, Func<Tensor> reference) =>
        (FusedKernels.Supports(x) ? FusedKernels.ModulatedLayerNorm(x, weight, bias, scale, shift, eps) : null) ?? reference();

    /// <summary>x + y·gate with gate [B, D] or [B, 1, D].</summary>
    public static Tensor GatedResidual(Tensor x, Tensor y, Tensor gate, Func<Tensor> reference) =>
        (FusedKernels.Supports(x) && y.dtype == x.dtype && y.shape.SequenceEqual(x.shape) ? FusedKernels.GatedResidual(x, y, gate) : null) ?? reference();

    /// <summary>Per-head norm of x [B, L, H·D] and rotary on rows [ropeStart, ropeStart + ropeCount); x's layout.</summary>
    public static Tensor HeadNormRotary(Tensor x, long headDim, HeadNorm norm, Tensor? weight, Tensor? bias, double eps,
        RotaryTable table, (Tensor Cos, Tensor Sin)? rotary, long ropeStart, long ropeCount, Func<Tensor> reference) =>
        (FusedKernels.Supports(x)
            ? FamilyKernels.HeadNormRotary(x, headDim, norm, weight, bias, eps, table, rotary?.Cos, rotary?.Sin, ropeStart, ropeCount)
            : null) ?? reference();

    /// <summary>(residual, when given) + RMS(y)·scale, scale [B, D] or [B, 1, D].</summary>
    public static Tensor RmsModulate(Tensor? residual, Tensor y, Tensor scale, double eps, Func<Tensor> reference) =>
        (FusedKernels.Supports(y) ? FamilyKernels.RmsModulate(residual, y, scale, eps) : null) ?? reference();
}
