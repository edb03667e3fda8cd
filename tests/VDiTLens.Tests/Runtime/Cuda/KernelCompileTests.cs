using VDiTLens.Runtime.Cuda;

namespace VDiTLens.Tests.Runtime.Cuda;

/// <summary>
/// Every kernel variant compiled with NVRTC to a cubin (PTX assembled by NVRTC's ptxas, so an instruction the
/// architecture lacks fails here) for sm_80 and sm_90, without a GPU.
/// </summary>
public sealed class KernelCompileTests
{
    [Theory]
    [InlineData(80)]
    [InlineData(90)]
    public void Every_kernel_variant_compiles(int arch)
    {
        if (!NvrtcForTests.Available()) return;
        string architecture = NvrtcForTests.Architecture(arch);
        var failures = new List<string>();
        foreach (var variant in KernelCatalog.All)
        {
            try
            {
                var cubin = KernelCompiler.Compile(variant, architecture);
                if (cubin.Length == 0) failures.Add($"{variant}: empty cubin");
            }
            catch (VDiTLensException e)
            {
                failures.Add(e.Message);
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {KernelCatalog.All.Count} variants failed for {architecture}:\n{string.Join("\n", failures)}");
    }

    [Fact]
    public void Every_kernel_file_has_variants_in_the_catalog()
    {
        Assert.Equal(7, KernelSources.Kernels.Count);
        Assert.Equal(KernelSources.Kernels, KernelCatalog.All.Select(v => v.Kernel).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_virtual_architecture_gives_ptx()
    {
        if (!NvrtcForTests.Available()) return;
        var ptx = System.Text.Encoding.UTF8.GetString(KernelCompiler.Compile(FusedKernels.GatedResidualVariant(TorchSharp.torch.ScalarType.BFloat16, 1536), "compute_80"));
        Assert.Contains(".entry gated_residual", ptx);
        Assert.Contains("cvt.rn.bf16.f32", ptx);
    }

    // The reason bf16 needs the fallback: cvt.rn.bf16.f32 is an sm_80 instruction, so on a T4 (sm_75) the bf16 variants
    // do not compile while the fp16 ones do.
    [Fact]
    public void Bf16_variants_fail_for_sm75_naming_the_kernel_while_fp16_compiles()
    {
        if (!NvrtcForTests.Available()) return;
        var bf16 = FusedKernels.RowVariant("modulated_layer_norm", TorchSharp.torch.ScalarType.BFloat16, 1536);
        var fp16 = FusedKernels.RowVariant("modulated_layer_norm", TorchSharp.torch.ScalarType.Float16, 1536);
        var e = Assert.Throws<VDiTLensException>(() => KernelCompiler.Compile(bf16, "sm_75"));
        Assert.Contains("modulated_layer_norm(DIM=1536,THREADS=192,VPT=1,IS_BF16=1)", e.Message);
        Assert.NotEmpty(KernelCompiler.Compile(fp16, "sm_75"));
    }

    [Fact]
    public void A_broken_source_fails_with_the_kernels_name_and_the_compiler_log()
    {
        if (!NvrtcForTests.Available()) return;
        var variant = FusedKernels.GatedResidualVariant(TorchSharp.torch.ScalarType.Float16, 1536);
        string broken = KernelSources.Source("gated_residual").Replace("out[i] = pack(a);", "out[i] = pack(a)");
        var e = Assert.Throws<VDiTLensException>(() => KernelCompiler.Compile(variant, broken, "sm_80"));
        Assert.Contains("gated_residual(DIM=1536,IS_BF16=0)", e.Message);
        Assert.Contains("gated_residual.cu", e.Message);
        Assert.Contains("error", e.Message);
    }

    [Fact]
    public void VDITLENS_FAIL_KERNEL_makes_the_named_kernel_fail_to_compile_and_no_other()
    {
        if (!NvrtcForTests.Available()) return;
        var gated = FusedKernels.GatedResidualVariant(TorchSharp.torch.ScalarType.Float16, 1536);
        var coverage = CoverageKernel.Variant(aggregate: true);
        string? before = Environment.GetEnvironmentVariable(KernelCompiler.FailKernelVariable);
        try
        {
            Environment.SetEnvironmentVariable(KernelCompiler.FailKernelVariable, "rms_modulate, gated_residual");
            var e = Assert.Throws<VDiTLensException>(() => KernelCompiler.Compile(gated, "sm_80"));
            Assert.Contains("gated_residual", e.Message);
            Assert.Contains("VDITLENS_FAIL_KERNEL", e.Message);
            Assert.NotEmpty(KernelCompiler.Compile(coverage, "sm_80"));
            Environment.SetEnvironmentVariable(KernelCompiler.FailKernelVariable, "all");
            Assert.Throws<VDiTLensException>(() => KernelCompiler.Compile(coverage, "sm_80"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(KernelCompiler.FailKernelVariable, before);
        }
        Assert.NotEmpty(KernelCompiler.Compile(gated, "sm_80"));
    }
}
