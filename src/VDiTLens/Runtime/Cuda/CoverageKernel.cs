using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Runtime.Cuda;

/// <summary>Launcher of <see cref="CoverageSource"/> on TorchSharp tensors.</summary>
public static class CoverageKernel
{
    private const int Threads = 256;

    /// <summary>Sum equal first-round bins within a warp before the shared-memory atomics (sm_70 and newer); false for comparisons.</summary>
    public static bool WarpAggregation { get; set; } = true;

    /// <summary>Why the kernel could not be compiled or launched, once that happened (callers then sort instead).</summary>
    public static string? Failure { get; private set; }

    /// <summary>True when logits are CUDA float32 and run-time kernels work on their device.</summary>
    public static bool Supports(Tensor logits) =>
        FusedKernels.Enabled && Failure is null && logits.device.type == DeviceType.CUDA && logits.dtype == ScalarType.Float32
        && KernelCache.Unavailable(Device(logits)) is null;

    /// <summary><see cref="Counts"/>, or null (and <see cref="Failure"/> set) when the kernel fails to compile or launch.</summary>
    public static Tensor? TryCounts(Tensor logits, double scale, IReadOnlyList<double> levels)
    {
        try
        {
            return Counts(logits, scale, levels);
        }
        catch (VDiTLensException e)
        {
            Failure = e.Message;
            return null;
        }
    }

    /// <summary>
    /// Coverage counts [..., 4] (float32): for each row of the softmax of scale · logits [..., Lk], the number of
    /// largest probabilities needed to reach each of the four levels (the kernel computes the log-partition itself).
    /// </summary>
    public static Tensor Counts(Tensor logits, double scale, IReadOnlyList<double> levels)
    {
        if (levels.Count != CoverageSource.Levels) throw new ArgumentException($"the coverage kernel takes {CoverageSource.Levels} levels");
        using var scope = torch.NewDisposeScope();
        long lk = logits.shape[^1], rows = logits.numel() / lk;
        var l = logits.contiguous();
        var output = torch.empty(new[] { rows, (long)CoverageSource.Levels }, dtype: ScalarType.Float32, device: logits.device);
        int device = Device(logits);
        bool aggregate = WarpAggregation && CudaDriver.ComputeCapability(device).Major >= 7; // __match_any_sync
        var defines = new Dictionary<string, long> { ["THREADS"] = Threads, ["AGGREGATE"] = aggregate ? 1 : 0 };
        var kernel = KernelCache.Get(device, "coverage_counts", CoverageSource.Source, defines);
        kernel.Launch((uint)rows, Threads, TensorMemory.Address(l), TensorMemory.Address(output), lk, (float)scale,
            (float)levels[0], (float)levels[1], (float)levels[2], (float)levels[3]);
        var shape = logits.shape.ToArray();
        shape[^1] = CoverageSource.Levels;
        return output.reshape(shape).MoveToOuterDisposeScope();
    }

    private static int Device(Tensor x) => x.device.index < 0 ? 0 : x.device.index;
}
