using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Runtime.Cuda;

/// <summary>
/// Launchers of the fused element-wise kernels on TorchSharp tensors. Each takes contiguous CUDA tensors of one
/// 16-bit type (bfloat16/float16) with float32 modulation; <see cref="Supports"/> says whether a call qualifies,
/// and callers keep the plain TorchSharp computation for everything else.
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
        return KernelCache.Unavailable(Device(x)) is null;
    }

    /// <summary>See <see cref="ElementwiseSource.ModulatedLayerNorm"/>; scale/shift are [batches, dim] float32.</summary>
    public static Tensor ModulatedLayerNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor? scale, Tensor? shift, double eps)
    {
        using var scope = torch.NewDisposeScope();
        long dim = x.shape[^1], rows = x.numel() / dim, batches = x.shape[0];
        var (threads, vpt) = RowLaunch(dim) ?? throw new ArgumentException("row length not supported");
        var xc = Contiguous16(x);
        var w = Float32(weight);
        var b = Float32(bias);
        var sc = Float32(scale?.reshape(batches, dim));
        var sh = Float32(shift?.reshape(batches, dim));
        var output = torch.empty_like(xc);
        var kernel = KernelCache.Get(Device(x), "modulated_layer_norm", ElementwiseSource.ModulatedLayerNorm, RowDefines(x.dtype, dim, threads, vpt));
        kernel.Launch((uint)rows, (uint)threads, TensorMemory.Address(xc), TensorMemory.Address(output), TensorMemory.AddressOrNull(w),
            TensorMemory.AddressOrNull(b), TensorMemory.AddressOrNull(sc), TensorMemory.AddressOrNull(sh), rows / batches, (float)eps);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>x + y·gate, gate [batches, dim] float32; x and y of one shape [batches, ..., dim].</summary>
    public static Tensor GatedResidual(Tensor x, Tensor y, Tensor gate)
    {
        using var scope = torch.NewDisposeScope();
        long dim = x.shape[^1], rows = x.numel() / dim, batches = x.shape[0];
        var xc = Contiguous16(x);
        var yc = Contiguous16(y.to(x.dtype));
        var g = Float32(gate.reshape(batches, dim))!;
        var output = torch.empty_like(xc);
        long vectors = x.numel() / 8;
        const int threads = 256;
        var kernel = KernelCache.Get(Device(x), "gated_residual", ElementwiseSource.GatedResidual,
            new Dictionary<string, long> { ["DIM"] = dim, ["IS_BF16"] = x.dtype == ScalarType.BFloat16 ? 1 : 0 });
        uint grid = (uint)Math.Min((vectors + threads - 1) / threads, 1L << 20);
        kernel.Launch(grid, threads, TensorMemory.Address(xc), TensorMemory.Address(yc), TensorMemory.Address(g), TensorMemory.Address(output), vectors, rows / batches);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>RMS norm across the last dimension with gain, then (if cos/sin [tokens, headDim] given) rotary per head.</summary>
    public static Tensor RmsNormRotary(Tensor x, Tensor weight, double eps, Tensor? cos, Tensor? sin, long headDim)
    {
        using var scope = torch.NewDisposeScope();
        long dim = x.shape[^1], rows = x.numel() / dim, tokens = x.shape[^2];
        var (threads, vpt) = RowLaunch(dim) ?? throw new ArgumentException("row length not supported");
        if (headDim % 8 != 0 || dim % headDim != 0) throw new ArgumentException("head_dim must be a multiple of 8 dividing the row");
        var xc = Contiguous16(x);
        var w = weight.to(x.dtype).contiguous();
        var c = cos?.to(ScalarType.Float32).reshape(tokens, headDim).contiguous();
        var s = sin?.to(ScalarType.Float32).reshape(tokens, headDim).contiguous();
        var output = torch.empty_like(xc);
        var defines = RowDefines(x.dtype, dim, threads, vpt);
        defines["HEAD_DIM"] = headDim;
        var kernel = KernelCache.Get(Device(x), "rms_norm_rotary", ElementwiseSource.RmsNormRotary, defines);
        kernel.Launch((uint)rows, (uint)threads, TensorMemory.Address(xc), TensorMemory.Address(output), TensorMemory.Address(w),
            TensorMemory.AddressOrNull(c), TensorMemory.AddressOrNull(s), tokens, (float)eps);
        return output.MoveToOuterDisposeScope();
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

    private static Dictionary<string, long> RowDefines(ScalarType t, long dim, int threads, int vpt) => new()
    {
        ["DIM"] = dim, ["THREADS"] = threads, ["VPT"] = vpt, ["IS_BF16"] = t == ScalarType.BFloat16 ? 1 : 0,
    };

    private static int Device(Tensor x) => x.device.index < 0 ? 0 : x.device.index;

    // A fresh contiguous tensor from the caching allocator is 16-byte aligned; a view with an odd offset is copied.
    private static Tensor Contiguous16(Tensor x)
    {
        var c = x.contiguous();
        return TensorMemory.Aligned16(c) ? c : c.clone();
    }

    private static Tensor? Float32(Tensor? t) => t?.to(ScalarType.Float32).contiguous();
}
