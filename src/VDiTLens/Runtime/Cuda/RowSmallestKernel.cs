using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Runtime.Cuda;

/// <summary>Launcher of the per-row bottom-m selection kernel (<c>Kernels/row_smallest.cu</c>) on TorchSharp tensors.</summary>
public static class RowSmallestKernel
{
    private const int Threads = 512;

    public static KernelVariant Variant { get; } = new("row_smallest", ("THREADS", Threads));

    /// <summary>True when values are CUDA float32 and run-time kernels work on their device.</summary>
    public static bool Supports(Tensor values) =>
        FusedKernels.Enabled && values.device.type == DeviceType.CUDA && values.dtype == ScalarType.Float32
        && KernelCache.Unavailable(KernelCache.DeviceOf(values)) is null;

    /// <summary>
    /// Bool mask, true on the m smallest entries of each last-dimension row of <paramref name="values"/> (ties: lower
    /// index first), <paramref name="m"/> int64 of the rows' shape with a last dimension of 1. Null when the kernel
    /// cannot run on the device; the caller then computes its reference.
    /// </summary>
    public static Tensor? Mask(Tensor values, Tensor m)
    {
        if (!Supports(values)) return null;
        if (KernelCache.TryGet(KernelCache.DeviceOf(values), Variant) is not { } kernel) return null;
        using var scope = torch.NewDisposeScope();
        long n = values.shape[^1], rows = values.numel() / n;
        if (rows == 0 || n == 0) return torch.zeros_like(values, dtype: ScalarType.Bool).MoveToOuterDisposeScope();
        var v = values.contiguous();
        var counts = m.to(ScalarType.Int64, values.device).expand(values.shape[..^1].Append(1L).ToArray()).contiguous();
        var mask = torch.empty(values.shape, dtype: ScalarType.Bool, device: values.device);
        bool launched = kernel.TryLaunch((uint)rows, Threads, TensorMemory.Address(v), TensorMemory.Address(counts), TensorMemory.Address(mask), n);
        return launched ? mask.MoveToOuterDisposeScope() : null;
    }
}
