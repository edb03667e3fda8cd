using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Runtime.Cuda;

/// <summary>Launcher of the top-k coverage kernel (<c>Kernels/coverage_counts.cu</c>) on TorchSharp tensors.</summary>
public static class CoverageKernel
{
    public const int Levels = 4;
    private const int Threads = 256;

    /// <summary>Sum equal first-round bins within a warp before the shared-memory atomics (sm_70 and newer); false for comparisons.</summary>
    public static bool WarpAggregation { get; set; } = true;

    /// <summary>
    /// True when logits are CUDA float32, run-time kernels work on their device and the kernel variant has not failed
    /// there (the caller sizes its blocks for the kernel path, which holds a third of the sort path's memory).
    /// </summary>
    public static bool Supports(Tensor logits) =>
        FusedKernels.Enabled && logits.device.type == DeviceType.CUDA && logits.dtype == ScalarType.Float32
        && KernelCache.Unavailable(KernelCache.DeviceOf(logits)) is null
        && !KernelCache.HasFailed(KernelCache.DeviceOf(logits), Variant(Aggregate(KernelCache.DeviceOf(logits))));

    /// <summary>
    /// Coverage counts [..., 4] (float32): for each row of the softmax of scale · logits [..., Lk], the number of
    /// largest probabilities needed to reach each of the four levels (the kernel computes the log-partition itself).
    /// Null when the kernel variant cannot run on the device; the caller then sorts (its reference).
    /// </summary>
    public static Tensor? Counts(Tensor logits, double scale, IReadOnlyList<double> levels)
    {
        if (levels.Count != Levels) throw new ArgumentException($"the coverage kernel takes {Levels} levels");
        int device = KernelCache.DeviceOf(logits);
        if (KernelCache.TryGet(device, Variant(Aggregate(device))) is not { } kernel) return null;
        using var scope = torch.NewDisposeScope();
        long lk = logits.shape[^1], rows = logits.numel() / lk;
        var l = logits.contiguous();
        var output = torch.empty(new[] { rows, (long)Levels }, dtype: ScalarType.Float32, device: logits.device);
        bool launched = kernel.TryLaunch((uint)rows, Threads, TensorMemory.Address(l), TensorMemory.Address(output), lk, (float)scale,
            (float)levels[0], (float)levels[1], (float)levels[2], (float)levels[3]);
        if (!launched) return null;
        var shape = logits.shape.ToArray();
        shape[^1] = Levels;
        return output.reshape(shape).MoveToOuterDisposeScope();
    }

    private static bool Aggregate(int device) => WarpAggregation && CudaDriver.ComputeCapability(device).Major >= 7; // __match_any_sync

    public static KernelVariant Variant(bool aggregate) => new("coverage_counts", ("THREADS", Threads), ("AGGREGATE", aggregate ? 1 : 0));
}
