using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Runtime.Cuda;

/// <summary>
/// Launchers of the fused element-wise kernels of Wan (<c>Kernels/modulated_layer_norm.cu</c>, <c>gated_residual.cu</c>,
/// <c>rms_norm_rotary.cu</c>) on TorchSharp tensors. Each takes contiguous CUDA tensors of one 16-bit type
/// (bfloat16/float16) with float32 modulation; <see cref="Supports"/> says whether a call qualifies. Each returns null
/// when its kernel variant cannot run on the device (<see cref="KernelCache"/>), and the caller then computes its plain
/// TorchSharp reference, as it does for everything <see cref="Supports"/> refuses.
/// </summary>
public static class FusedKernels
{
    /// <summary>Set VDITLENS_FUSED=0 to run the unfused TorchSharp paths on CUDA too (for comparisons).</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("VDITLENS_FUSED") != "0";

    public static bool IsHalf(ScalarType t) => t is ScalarType.BFloat16 or ScalarType.Float16;

    /// <summary>True when x is a CUDA bfloat16/float16 tensor whose rows the row kernels can take.</summary>
    public static bool Supports(Tensor x)
    {
        if (!Enabled || x.device.type != DeviceType.CUDA || !IsHalf(x.dtype)) return false;
        if (RowLaunch(x.shape[^1]) is null) return false;
        return KernelCache.Unavailable(KernelCache.DeviceOf(x)) is null;
    }

    /// <summary>See <c>Kernels/modulated_layer_norm.cu</c>; scale/shift are [batches, dim] float32.</summary>
    public static Tensor? ModulatedLayerNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor? scale, Tensor? shift, double eps)
    {
        long dim = x.shape[^1], rows = x.numel() / dim, batches = x.shape[0];
        var (threads, _) = RowLaunch(dim) ?? throw new ArgumentException("row length not supported");
        if (KernelCache.TryGet(KernelCache.DeviceOf(x), RowVariant("modulated_layer_norm", x.dtype, dim)) is not { } kernel) return null;
        using var scope = torch.NewDisposeScope();
        var xc = Contiguous16(x);
        var w = Float32(weight);
        var b = Float32(bias);
        var sc = Float32(scale?.reshape(batches, dim));
        var sh = Float32(shift?.reshape(batches, dim));
        var output = torch.empty_like(xc);
        bool launched = kernel.TryLaunch((uint)rows, (uint)threads, TensorMemory.Address(xc), TensorMemory.Address(output), TensorMemory.AddressOrNull(w),
            TensorMemory.AddressOrNull(b), TensorMemory.AddressOrNull(sc), TensorMemory.AddressOrNull(sh), rows / batches, (float)eps);
        return launched ? output.MoveToOuterDisposeScope() : null;
    }

    /// <summary>x + y·gate, gate [batches, dim] float32; x and y of one shape [batches, ..., dim].</summary>
    public static Tensor? GatedResidual(Tensor x, Tensor y, Tensor gate)
    {
        long dim = x.shape[^1], rows = x.numel() / dim, batches = x.shape[0];
        if (KernelCache.TryGet(KernelCache.DeviceOf(x), GatedResidualVariant(x.dtype, dim)) is not { } kernel) return null;
        using var scope = torch.NewDisposeScope();
        var xc = Contiguous16(x);
        var yc = Contiguous16(y.to(x.dtype));
        var g = Float32(gate.reshape(batches, dim))!;
        var output = torch.empty_like(xc);
        long vectors = x.numel() / 8;
        const int threads = 256;
        uint grid = (uint)Math.Min((vectors + threads - 1) / threads, 1L << 20);
        bool launched = kernel.TryLaunch(grid, threads, TensorMemory.Address(xc), TensorMemory.Address(yc), TensorMemory.Address(g), TensorMemory.Address(output), vectors, rows / batches);
        return launched ? output.MoveToOuterDisposeScope() : null;
    }

    /// <summary>RMS norm across the last dimension with gain, then (if cos/sin [tokens, headDim] given) rotary per head.</summary>
    public static Tensor? RmsNormRotary(Tensor x, Tensor weight, double eps, Tensor? cos, Tensor? sin, long headDim)
    {
        long dim = x.shape[^1], rows = x.numel() / dim, tokens = x.shape[^2];
        var (threads, _) = RowLaunch(dim) ?? throw new ArgumentException("row length not supported");
        if (headDim % 8 != 0 || dim % headDim != 0) throw new ArgumentException("head_dim must be a multiple of 8 dividing the row");
        if (KernelCache.TryGet(KernelCache.DeviceOf(x), RmsNormRotaryVariant(x.dtype, dim, headDim)) is not { } kernel) return null;
        using var scope = torch.NewDisposeScope();
        var xc = Contiguous16(x);
        var w = weight.to(x.dtype).contiguous();
        var c = cos?.to(ScalarType.Float32).reshape(tokens, headDim).contiguous();
        var s = sin?.to(ScalarType.Float32).reshape(tokens, headDim).contiguous();
        var output = torch.empty_like(xc);
        bool launched = kernel.TryLaunch((uint)rows, (uint)threads, TensorMemory.Address(xc), TensorMemory.Address(output), TensorMemory.Address(w),
            TensorMemory.AddressOrNull(c), TensorMemory.AddressOrNull(s), tokens, (float)eps);
        return launched ? output.MoveToOuterDisposeScope() : null;
    }

    /// <summary>Threads per row and 16-byte vectors per thread for a row length; null if the row kernels cannot take it.</summary>
    public static (int Threads, int VectorsPerThread)? RowLaunch(long dim)
    {
        if (dim % 8 != 0) return null;
        long vectors = dim / 8;
        for (int vpt = 1; vpt <= 8; vpt *= 2)
        {
            if (vectors % vpt != 0) continue;
            long threads = vectors / vpt;
            if (threads <= 512 && threads % 32 == 0) return ((int)threads, vpt);
        }
        return null;
    }

    /// <summary>A row kernel (one block per row: modulated_layer_norm, rms_modulate) for a row length the launch takes.</summary>
    public static KernelVariant RowVariant(string kernel, ScalarType t, long dim)
    {
        var (threads, vpt) = RowLaunch(dim) ?? throw new ArgumentException($"row length {dim} not supported by {kernel}");
        return new(kernel, ("DIM", dim), ("THREADS", threads), ("VPT", vpt), ("IS_BF16", IsBf16(t)));
    }

    public static KernelVariant GatedResidualVariant(ScalarType t, long dim) => new("gated_residual", ("DIM", dim), ("IS_BF16", IsBf16(t)));

    public static KernelVariant RmsNormRotaryVariant(ScalarType t, long dim, long headDim)
    {
        var row = RowVariant("rms_norm_rotary", t, dim);
        return row with { Defines = row.Defines.Append(KeyValuePair.Create("HEAD_DIM", headDim)).ToArray() };
    }

    internal static long IsBf16(ScalarType t) => t == ScalarType.BFloat16 ? 1 : 0;

    // A fresh contiguous tensor from the caching allocator is 16-byte aligned; a view with an odd offset is copied.
    internal static Tensor Contiguous16(Tensor x)
    {
        var c = x.contiguous();
        return TensorMemory.Aligned16(c) ? c : c.clone();
    }

    internal static Tensor? Float32(Tensor? t) => t?.to(ScalarType.Float32).contiguous();
}
