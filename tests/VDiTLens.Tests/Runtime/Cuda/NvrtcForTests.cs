using VDiTLens.Runtime.Cuda;

namespace VDiTLens.Tests.Runtime.Cuda;

/// <summary>
/// Whether NVRTC can be loaded here (no GPU needed: it only compiles). CI installs Debian's libnvrtc11.2 and sets
/// VDITLENS_REQUIRE_NVRTC=1; there, as anywhere CI=true, its absence is a failure. Elsewhere the compile tests
/// return early without it.
/// </summary>
internal static class NvrtcForTests
{
    public static bool Available()
    {
        try
        {
            Nvrtc.Version();
            return true;
        }
        catch (Exception e) when (e is VDiTLensException or DllNotFoundException or EntryPointNotFoundException)
        {
            if (Environment.GetEnvironmentVariable("VDITLENS_REQUIRE_NVRTC") == "1"
                || string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
                Assert.Fail($"NVRTC is required in CI (apt-get install libnvrtc11.2 from Debian's non-free component): {e.Message}");
            return false;
        }
    }

    /// <summary>
    /// sm_XY when this NVRTC knows it; else the highest architecture it knows below (NVRTC 11.8, Debian 12's, knows
    /// sm_90; an 11.0–11.7 one stops at sm_80–sm_87, and then "sm_90" is checked as that).
    /// </summary>
    public static string Architecture(int wanted)
    {
        var known = Nvrtc.SupportedArchitectures();
        int arch = known.Contains(wanted) ? wanted : known.Where(a => a <= wanted).DefaultIfEmpty(known.Max()).Max();
        return $"sm_{arch}";
    }
}
