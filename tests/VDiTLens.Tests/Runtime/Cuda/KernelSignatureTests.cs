using VDiTLens.Runtime.Cuda;

namespace VDiTLens.Tests.Runtime.Cuda;

public sealed class KernelSignatureTests
{
    private const KernelArgKind P = KernelArgKind.Pointer, I = KernelArgKind.Int64, F = KernelArgKind.Float32;

    // The launchers' argument lists (FusedKernels, FamilyKernels, CoverageKernel), kind by kind.
    public static TheoryData<string, KernelArgKind[]> Launches => new()
    {
        { "modulated_layer_norm", new[] { P, P, P, P, P, P, I, F } },
        { "gated_residual", new[] { P, P, P, P, I, I } },
        { "rms_norm_rotary", new[] { P, P, P, P, P, I, F } },
        { "head_norm_rotary", new[] { P, P, P, P, P, P, I, I, I, I, F } },
        { "rms_modulate", new[] { P, P, P, P, I, F } },
        { "coverage_counts", new[] { P, P, I, F, F, F, F, F } },
    };

    [Theory]
    [MemberData(nameof(Launches))]
    public void Each_kernel_declares_the_parameters_its_launcher_passes(string kernel, KernelArgKind[] kinds)
    {
        var parameters = KernelSignature.Parse(KernelSources.Source(kernel), kernel);
        Assert.Equal(kinds, parameters.Select(p => p.Kind));
    }

    [Fact]
    public void A_launch_with_a_wrong_count_or_kind_is_refused_naming_the_parameter()
    {
        var parameters = KernelSignature.Parse(KernelSources.Source("gated_residual"), "gated_residual");
        KernelArg[] good = { IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, 8L, 1L };
        Assert.Null(KernelSignature.Mismatch(parameters, good));
        Assert.Contains("5 arguments for 6 parameters", KernelSignature.Mismatch(parameters, good[..5]));
        KernelArg[] swapped = { IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, 8L, 1f };
        Assert.Contains("argument 5 ('rows_per_batch') is Float32, the kernel declares Int64", KernelSignature.Mismatch(parameters, swapped));
    }

    [Fact]
    public void A_missing_kernel_declaration_is_an_error_naming_it()
    {
        var e = Assert.Throws<VDiTLensException>(() => KernelSignature.Parse("__global__ void other(float x) {}", "gated_residual"));
        Assert.Contains("gated_residual", e.Message);
    }
}
