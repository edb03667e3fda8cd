using TorchSharp;
using VDiTLens.Benchmarks;
using VDiTLens.Runtime;
using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Runtime.Cuda;

public sealed class KernelFallbackTests
{
    [Fact]
    public void A_failed_variant_warns_once_on_one_line_and_is_not_tried_again_on_that_device()
    {
        var variant = new KernelVariant("gated_residual", ("DIM", 24), ("IS_BF16", 1));
        var before = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            KernelCache.Disable(7, variant, "NVRTC could not compile kernel 'gated_residual.cu' for sm_75:\nprelude.cuh(3): error: ptxas rejected cvt.rn.bf16.f32");
            KernelCache.Disable(7, variant, "a second reason");
        }
        finally
        {
            Console.SetError(before);
        }
        Assert.Null(KernelCache.TryGet(7, variant)); // answered from the failure list, no driver or NVRTC call
        var lines = captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains("gated_residual(DIM=24,IS_BF16=1)", lines[0]);
        Assert.Contains("cuda:7", lines[0]);
        Assert.Contains("error: ptxas rejected cvt.rn.bf16.f32", lines[0]);
        Assert.Contains("reference runs instead", lines[0]);
        var failure = Assert.Single(KernelCache.Failures, f => f.Device == 7);
        Assert.Equal("gated_residual(DIM=24,IS_BF16=1)", failure.Variant);
        Assert.DoesNotContain(KernelCache.Failures, f => f.Device == 0 && f.Variant == failure.Variant); // per device, not global
    }

    // On the CPU the callers always take the reference path; with every kernel forced to fail the check must still
    // see every output equal to its reference (on a GPU the same command shows the fallback, see docs/gpu.md).
    [Fact]
    public void The_kernel_check_on_the_cpu_with_every_kernel_forced_to_fail_gives_the_reference_exactly()
    {
        TorchRuntime.Initialise();
        string? before = Environment.GetEnvironmentVariable(KernelCompiler.FailKernelVariable);
        IReadOnlyList<KernelCheckResult> results;
        try
        {
            Environment.SetEnvironmentVariable(KernelCompiler.FailKernelVariable, "all");
            results = KernelCheck.Run(new ComputeOptions(torch.CPU, ScalarType.Float32, 5));
        }
        finally
        {
            Environment.SetEnvironmentVariable(KernelCompiler.FailKernelVariable, before);
        }
        Assert.Equal(25, results.Count);
        Assert.All(results, r =>
        {
            Assert.Equal("reference", r.Path);
            Assert.Equal(0.0, r.MaxAbs);
            Assert.True(r.Pass, r.Check);
        });
        Assert.Equal(KernelSources.Kernels, results.Select(r => r.Variant[..r.Variant.IndexOf('(')]).Distinct().Order(StringComparer.Ordinal));
    }
}
