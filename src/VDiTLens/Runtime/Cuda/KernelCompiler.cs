namespace VDiTLens.Runtime.Cuda;

/// <summary>
/// Compiles a kernel variant from its embedded source (<see cref="KernelSources"/>) with NVRTC: the variant's
/// defines as <c>-DNAME=value</c>, C++17, the prelude as the one header. Set VDITLENS_FAIL_KERNEL to a kernel name,
/// a comma-separated list of them, or <c>all</c>, to make those kernels fail to compile (the prelude's
/// <c>#error</c>), which exercises the fallback to the TorchSharp reference.
/// </summary>
public static class KernelCompiler
{
    public const string FailKernelVariable = "VDITLENS_FAIL_KERNEL";

    /// <summary>True when VDITLENS_FAIL_KERNEL names this kernel (or is <c>all</c>).</summary>
    public static bool ForcedToFail(string kernel)
    {
        string? value = Environment.GetEnvironmentVariable(FailKernelVariable);
        if (string.IsNullOrWhiteSpace(value)) return false;
        return value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Any(n => n == "all" || n == kernel);
    }

    /// <summary>A cubin for <c>sm_XY</c> or PTX for <c>compute_XY</c>; throws <see cref="VDiTLensException"/> naming the variant.</summary>
    public static byte[] Compile(KernelVariant variant, string architecture) =>
        Compile(variant, KernelSources.Source(variant.Kernel), architecture);

    /// <summary>As <see cref="Compile(KernelVariant, string)"/> with the source given (the tests feed broken sources).</summary>
    public static byte[] Compile(KernelVariant variant, string source, string architecture)
    {
        var options = variant.Defines.Select(d => $"-D{d.Key}={d.Value}").Append("-std=c++17");
        if (ForcedToFail(variant.Kernel)) options = options.Append("-DVDITLENS_FORCED_FAILURE=1");
        var headers = new Dictionary<string, string> { [KernelSources.Prelude] = KernelSources.Text(KernelSources.Prelude) };
        try
        {
            return Nvrtc.Compile(source, variant.Kernel + ".cu", headers, architecture, options);
        }
        catch (VDiTLensException e)
        {
            throw new VDiTLensException($"{variant}: {e.Message}");
        }
    }
}
