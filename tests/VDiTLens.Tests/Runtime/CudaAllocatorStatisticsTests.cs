using TorchSharp;
using VDiTLens.Benchmarks;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Runtime;

public sealed class CudaAllocatorStatisticsTests
{
    [Fact]
    public void On_the_cpu_the_figures_are_unavailable_and_say_why()
    {
        TorchRuntime.Initialise();
        Assert.Contains("only on CUDA devices", CudaAllocatorStatistics.Unavailable(torch.CPU));
        Assert.Null(CudaAllocatorStatistics.Read(torch.CPU));
        CudaAllocatorStatistics.ResetPeak(torch.CPU); // a no-op, not an error
        Assert.StartsWith("allocator peak unavailable: ", CudaAllocatorStatistics.Describe(torch.CPU));
        var check = AllocatorCheck.Run(torch.CPU);
        Assert.Null(check.PeakAllocatedOverBaseline);
        Assert.Contains("only on CUDA devices", check.Unavailable);
    }

    [Fact]
    public void Without_a_loadable_library_a_cuda_device_names_the_variable()
    {
        string? before = Environment.GetEnvironmentVariable(CudaAllocatorStatistics.LibraryVariable);
        try
        {
            Environment.SetEnvironmentVariable(CudaAllocatorStatistics.LibraryVariable, Path.Combine(Path.GetTempPath(), "no-such-allocator-stats.so"));
            var why = CudaAllocatorStatistics.Unavailable(new Device(DeviceType.CUDA, 0));
            Assert.Contains(CudaAllocatorStatistics.LibraryVariable, why);
            Assert.Null(CudaAllocatorStatistics.Read(new Device(DeviceType.CUDA, 0)));
        }
        finally
        {
            Environment.SetEnvironmentVariable(CudaAllocatorStatistics.LibraryVariable, before);
        }
    }
}
