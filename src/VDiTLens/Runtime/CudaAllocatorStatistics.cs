using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Runtime;

/// <summary>libtorch's CUDA caching-allocator counters for one device, in bytes (PyTorch's torch.cuda.memory_* figures).</summary>
public sealed record AllocatorStatistics(long Allocated, long PeakAllocated, long Reserved, long PeakReserved)
{
    public const double GiB = 1024.0 * 1024 * 1024;
    public double PeakAllocatedGiB => PeakAllocated / GiB;
    public double PeakReservedGiB => PeakReserved / GiB;
}

/// <summary>
/// Peak memory as PyTorch measures it: libtorch's CUDA caching allocator statistics
/// (<c>c10::cuda::CUDACachingAllocator::getDeviceStats</c>; what <c>torch.cuda.max_memory_allocated</c> and
/// <c>max_memory_reserved</c> read) and their peak reset, through a small native library built against the libtorch in
/// use (<c>build/native/cuda_allocator_stats.cpp</c>) whose path is in VDITLENS_ALLOCATOR_STATS. Unavailable on the
/// CPU and where that library is not given; <see cref="Unavailable"/> says why.
/// </summary>
public static unsafe class CudaAllocatorStatistics
{
    public const string LibraryVariable = "VDITLENS_ALLOCATOR_STATS";

    private static readonly Lazy<(IntPtr Stats, IntPtr Reset, IntPtr Error, string? Problem)> Library = new(Load);

    /// <summary>Null when the statistics can be read for this device; else why not.</summary>
    public static string? Unavailable(Device device)
    {
        if (device.type != DeviceType.CUDA) return $"allocator statistics exist only on CUDA devices, not on {device}";
        return Library.Value.Problem;
    }

    /// <summary>The device's counters, or null when <see cref="Unavailable"/>.</summary>
    public static AllocatorStatistics? Read(Device device)
    {
        if (Unavailable(device) is not null) return null;
        long* values = stackalloc long[4];
        var read = (delegate* unmanaged<int, long*, int>)Library.Value.Stats;
        if (read(Index(device), values) != 0) throw new VDiTLensException($"reading the CUDA allocator statistics of {device} failed: {LastError()}");
        return new AllocatorStatistics(values[0], values[1], values[2], values[3]);
    }

    /// <summary>Starts a new peak (torch.cuda.reset_peak_memory_stats); does nothing when <see cref="Unavailable"/>.</summary>
    public static void ResetPeak(Device device)
    {
        if (Unavailable(device) is not null) return;
        var reset = (delegate* unmanaged<int, int>)Library.Value.Reset;
        if (reset(Index(device)) != 0) throw new VDiTLensException($"resetting the CUDA allocator peak of {device} failed: {LastError()}");
    }

    /// <summary>One line for benchmark output: peak allocated and reserved in GiB, or why they are unavailable.</summary>
    public static string Describe(Device device) => Read(device) is { } s
        ? $"peak allocated {s.PeakAllocatedGiB:F2} GiB, peak reserved {s.PeakReservedGiB:F2} GiB (CUDA caching allocator)"
        : $"allocator peak unavailable: {Unavailable(device)}";

    private static int Index(Device device) => device.index < 0 ? 0 : device.index;

    private static string LastError() => Marshal.PtrToStringUTF8(((delegate* unmanaged<IntPtr>)Library.Value.Error)()) ?? "(no message)";

    private static (IntPtr, IntPtr, IntPtr, string?) Load()
    {
        string? path = Environment.GetEnvironmentVariable(LibraryVariable);
        if (string.IsNullOrEmpty(path))
            return (0, 0, 0, $"{LibraryVariable} is not set (the path of libvditlens_allocator_stats.so, built against this libtorch by build/native/build_allocator_stats.sh)");
        if (!NativeLibrary.TryLoad(path, out var handle))
            return (0, 0, 0, $"{LibraryVariable}={path} could not be loaded (missing, or built against another libtorch)");
        if (!NativeLibrary.TryGetExport(handle, "vditlens_allocator_stats", out var stats) || !NativeLibrary.TryGetExport(handle, "vditlens_allocator_reset_peak", out var reset)
            || !NativeLibrary.TryGetExport(handle, "vditlens_allocator_last_error", out var error))
            return (0, 0, 0, $"{LibraryVariable}={path} lacks the vditlens_allocator_* functions");
        return (stats, reset, error, null);
    }
}
