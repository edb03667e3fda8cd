using TorchSharp;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

/// <summary>Peak allocated and reserved bytes over the baseline for <see cref="AllocatorCheck.Pattern"/>; null figures when unavailable.</summary>
public sealed record AllocatorCheckResult(long? PeakAllocatedOverBaseline, long? PeakReservedOverBaseline, string? Unavailable);

/// <summary>
/// A fixed allocation sequence whose caching-allocator peak PyTorch can reproduce exactly (same tensors, same order):
/// the GPU check that <see cref="CudaAllocatorStatistics"/> reads what torch.cuda.max_memory_allocated reads.
/// </summary>
public static class AllocatorCheck
{
    /// <summary>(elements, dtype, free the tensor right after) in allocation order.</summary>
    public static IReadOnlyList<(long Elements, ScalarType Type, bool FreeNow)> Pattern { get; } = new[]
    {
        (1L << 28, ScalarType.Float32, false), (3_000_001L, ScalarType.Float32, false), (777L, ScalarType.Float32, false),
        (1L << 20, ScalarType.BFloat16, true), (25_000_000L, ScalarType.Float32, false), (12_345L, ScalarType.Int64, false),
    };

    public static AllocatorCheckResult Run(Device device)
    {
        if (CudaAllocatorStatistics.Unavailable(device) is { } why) return new AllocatorCheckResult(null, null, why);
        Microbenchmark.Synchronise(device);
        var before = CudaAllocatorStatistics.Read(device)!;
        CudaAllocatorStatistics.ResetPeak(device);
        var held = new List<Tensor>();
        foreach (var (elements, type, freeNow) in Pattern)
        {
            var t = torch.empty(elements, dtype: type, device: device);
            if (freeNow) t.Dispose(); else held.Add(t);
        }
        var after = CudaAllocatorStatistics.Read(device)!;
        foreach (var t in held) t.Dispose();
        return new AllocatorCheckResult(after.PeakAllocated - before.Allocated, after.PeakReserved - before.Reserved, null);
    }
}
