using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Runtime.Cuda;

public enum HeadNorm { Rms = 0, Layer = 1 }

/// <summary>How rotary tables are laid out: none, [tokens, head_dim] per element, or [tokens, heads, head_dim/2] per pair.</summary>
public enum RotaryTable { None = 0, PerElement = 1, PerHeadPair = 2 }

/// <summary>
/// Launchers of the CogVideoX / Mochi-1 / HunyuanVideo kernels (<see cref="FamilyKernelSource"/>). Each returns
/// null when the kernel cannot be compiled on this machine (the reason is kept in <see cref="Failures"/>), and the
/// caller then computes its plain TorchSharp reference; a compile failure is tried only once per kernel variant.
/// </summary>
public static class FamilyKernels
{
    private static readonly object Gate = new();
    private static readonly Dictionary<string, string> Failed = new();

    /// <summary>Kernel variants that failed to compile, with NVRTC's message (for the benchmark's log).</summary>
    public static IReadOnlyDictionary<string, string> Failures
    {
        get { lock (Gate) return new Dictionary<string, string>(Failed); }
    }

    /// <summary>
    /// Per-head norm of x [B, L, heads·headDim] (weight/bias [headDim] or null), then rotary on the rows
    /// [ropeStart, ropeStart + ropeCount) of each batch row; returns a tensor of x's shape and layout.
    /// </summary>
    public static Tensor? HeadNormRotary(Tensor x, long headDim, HeadNorm norm, Tensor? weight, Tensor? bias, double eps,
        RotaryTable table, Tensor? cos, Tensor? sin, long ropeStart, long ropeCount)
    {
        if (x.dim() != 3 || headDim % 8 != 0 || headDim / 8 > 32 || (headDim / 8 & (headDim / 8 - 1)) != 0 || x.shape[2] % headDim != 0)
            return null;
        var defines = new Dictionary<string, long>
        {
            ["DIM"] = x.shape[2], ["HEAD_DIM"] = headDim, ["NORM"] = (long)norm,
            ["ROPE"] = cos is null ? 0 : (long)table, ["IS_BF16"] = x.dtype == ScalarType.BFloat16 ? 1 : 0,
        };
        var kernel = Kernel(x, "head_norm_rotary", FamilyKernelSource.HeadNormRotary, defines);
        if (kernel is null) return null;
        using var scope = torch.NewDisposeScope();
        var xc = Contiguous16(x);
        var w = Float32(weight);
        var b = Float32(bias);
        var c = Float32(cos);
        var s = Float32(sin);
        var output = torch.empty_like(xc);
        long vectors = xc.numel() / 8;
        const int threads = 256;
        kernel.Launch((uint)((vectors + threads - 1) / threads), threads, TensorMemory.Address(xc), TensorMemory.Address(output),
            TensorMemory.AddressOrNull(w), TensorMemory.AddressOrNull(b), TensorMemory.AddressOrNull(c), TensorMemory.AddressOrNull(s),
            vectors, x.shape[1], ropeStart, ropeCount, (float)eps);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>(residual, when given) + RMS(y)·scale[batch], y [B, L, D], scale [B, D] (any float type).</summary>
    public static Tensor? RmsModulate(Tensor? residual, Tensor y, Tensor scale, double eps)
    {
        long dim = y.shape[^1], rows = y.numel() / dim, batches = y.shape[0];
        if (FusedKernels.RowLaunch(dim) is not { } launch) return null;
        var (threads, vpt) = launch;
        if (residual is not null && (residual.dtype != y.dtype || !residual.shape.SequenceEqual(y.shape))) return null;
        var defines = new Dictionary<string, long>
        {
            ["DIM"] = dim, ["THREADS"] = threads, ["VPT"] = vpt, ["IS_BF16"] = y.dtype == ScalarType.BFloat16 ? 1 : 0,
        };
        var kernel = Kernel(y, "rms_modulate", FamilyKernelSource.RmsModulate, defines);
        if (kernel is null) return null;
        using var scope = torch.NewDisposeScope();
        var yc = Contiguous16(y);
        var xc = residual is null ? null : Contiguous16(residual);
        var sc = Float32(scale.reshape(batches, dim))!;
        var output = torch.empty_like(yc);
        kernel.Launch((uint)rows, (uint)threads, TensorMemory.AddressOrNull(xc), TensorMemory.Address(yc), TensorMemory.Address(output),
            TensorMemory.Address(sc), rows / batches, (float)eps);
        return output.MoveToOuterDisposeScope();
    }

    private static CudaKernel? Kernel(Tensor x, string name, string source, Dictionary<string, long> defines)
    {
        string key = $"{name}({string.Join(",", defines.Select(d => $"{d.Key}={d.Value}"))})";
        lock (Gate)
            if (Failed.ContainsKey(key)) return null;
        try
        {
            return KernelCache.Get(x.device.index < 0 ? 0 : x.device.index, name, source, defines);
        }
        catch (VDiTLensException e)
        {
            lock (Gate) Failed[key] = e.Message;
            return null;
        }
    }

    private static Tensor Contiguous16(Tensor x)
    {
        var c = x.contiguous();
        return TensorMemory.Aligned16(c) ? c : c.clone();
    }

    private static Tensor? Float32(Tensor? t) => t?.to(ScalarType.Float32).contiguous();
}
