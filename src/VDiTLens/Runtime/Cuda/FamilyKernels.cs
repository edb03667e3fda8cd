using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Runtime.Cuda;

public enum HeadNorm { Rms = 0, Layer = 1 }

/// <summary>How rotary tables are laid out: none, [tokens, head_dim] per element, or [tokens, heads, head_dim/2] per pair.</summary>
public enum RotaryTable { None = 0, PerElement = 1, PerHeadPair = 2 }

/// <summary>
/// Launchers of the CogVideoX / Mochi-1 / HunyuanVideo kernels (<c>Kernels/head_norm_rotary.cu</c>,
/// <c>rms_modulate.cu</c>). Each returns null when the call's shape does not fit the kernel or its variant cannot run
/// on the device (<see cref="KernelCache"/>), and the caller then computes its plain TorchSharp reference.
/// </summary>
public static class FamilyKernels
{
    /// <summary>
    /// Per-head norm of x [B, L, heads·headDim] (weight/bias [headDim] or null), then rotary on the rows
    /// [ropeStart, ropeStart + ropeCount) of each batch row; returns a tensor of x's shape and layout.
    /// </summary>
    public static Tensor? HeadNormRotary(Tensor x, long headDim, HeadNorm norm, Tensor? weight, Tensor? bias, double eps,
        RotaryTable table, Tensor? cos, Tensor? sin, long ropeStart, long ropeCount)
    {
        if (x.dim() != 3 || !HeadNormRotaryTakes(x.shape[2], headDim)) return null;
        var variant = HeadNormRotaryVariant(x.dtype, x.shape[2], headDim, norm, cos is null ? RotaryTable.None : table);
        if (KernelCache.TryGet(KernelCache.DeviceOf(x), variant) is not { } kernel) return null;
        using var scope = torch.NewDisposeScope();
        var xc = FusedKernels.Contiguous16(x);
        var w = FusedKernels.Float32(weight);
        var b = FusedKernels.Float32(bias);
        var c = FusedKernels.Float32(cos);
        var s = FusedKernels.Float32(sin);
        var output = torch.empty_like(xc);
        long vectors = xc.numel() / 8;
        const int threads = 256;
        bool launched = kernel.TryLaunch((uint)((vectors + threads - 1) / threads), threads, TensorMemory.Address(xc), TensorMemory.Address(output),
            TensorMemory.AddressOrNull(w), TensorMemory.AddressOrNull(b), TensorMemory.AddressOrNull(c), TensorMemory.AddressOrNull(s),
            vectors, x.shape[1], ropeStart, ropeCount, (float)eps);
        return launched ? output.MoveToOuterDisposeScope() : null;
    }

    /// <summary>(residual, when given) + RMS(y)·scale[batch], y [B, L, D], scale [B, D] (any float type).</summary>
    public static Tensor? RmsModulate(Tensor? residual, Tensor y, Tensor scale, double eps)
    {
        long dim = y.shape[^1], rows = y.numel() / dim, batches = y.shape[0];
        if (FusedKernels.RowLaunch(dim) is not { } launch) return null;
        if (residual is not null && (residual.dtype != y.dtype || !residual.shape.SequenceEqual(y.shape))) return null;
        if (KernelCache.TryGet(KernelCache.DeviceOf(y), FusedKernels.RowVariant("rms_modulate", y.dtype, dim)) is not { } kernel) return null;
        using var scope = torch.NewDisposeScope();
        var yc = FusedKernels.Contiguous16(y);
        var xc = residual is null ? null : FusedKernels.Contiguous16(residual);
        var sc = FusedKernels.Float32(scale.reshape(batches, dim))!;
        var output = torch.empty_like(yc);
        bool launched = kernel.TryLaunch((uint)rows, (uint)launch.Threads, TensorMemory.AddressOrNull(xc), TensorMemory.Address(yc), TensorMemory.Address(output),
            TensorMemory.Address(sc), rows / batches, (float)eps);
        return launched ? output.MoveToOuterDisposeScope() : null;
    }

    /// <summary>head_norm_rotary needs head_dim = 8·2^k ≤ 256 (a power-of-two group of lanes per head) dividing the row.</summary>
    public static bool HeadNormRotaryTakes(long dim, long headDim)
    {
        long group = headDim / 8;
        return headDim % 8 == 0 && group <= 32 && (group & (group - 1)) == 0 && dim % headDim == 0;
    }

    public static KernelVariant HeadNormRotaryVariant(ScalarType t, long dim, long headDim, HeadNorm norm, RotaryTable table) =>
        new("head_norm_rotary", ("DIM", dim), ("HEAD_DIM", headDim), ("NORM", (long)norm), ("ROPE", (long)table), ("IS_BF16", FusedKernels.IsBf16(t)));
}
