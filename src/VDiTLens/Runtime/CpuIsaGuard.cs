using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VDiTLens.Runtime;

/// <summary>
/// Caps oneDNN (libtorch's CPU convolution library) at AVX2 on CPUs with AVX-512 unless the user chose an ISA: on an
/// AVX-512 CPU with bf16 support (AMD EPYC, Zen 4) libtorch 2.10's bf16 3-D convolutions returned wrong values
/// (relative L2 0.4–0.7 against diffusers in the Wan and CogVideoX VAE parity tests), and correct ones under AVX2.
/// Set <c>ONEDNN_MAX_CPU_ISA</c> yourself to override. oneDNN reads the variable at its first primitive, so it is
/// set from the library's module initialiser, before any model runs. See docs/native-runtime.md.
/// </summary>
internal static class CpuIsaGuard
{
    public const string Variable = "ONEDNN_MAX_CPU_ISA";

    /// <summary>The value set by this process, or null where the guard did nothing.</summary>
    public static string? Applied { get; private set; }

    [ModuleInitializer]
    internal static void Apply()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(Variable) is not null) return;
        try
        {
            if (!File.ReadLines("/proc/cpuinfo").Any(l => l.StartsWith("flags", StringComparison.Ordinal) && l.Contains(" avx512f"))) return;
            if (setenv(Variable, "AVX2", 0) != 0) return;
            Environment.SetEnvironmentVariable(Variable, "AVX2");
            Applied = "AVX2";
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int setenv(string name, string value, int overwrite);
}
