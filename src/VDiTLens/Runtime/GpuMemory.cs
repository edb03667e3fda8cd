using System.Diagnostics;

namespace VDiTLens.Runtime;

/// <summary>
/// GPU memory in use on a device as the driver reports it (nvidia-smi). libtorch's caching allocator keeps
/// what it once allocated, so the growth over a baseline taken before a run is the run's peak reserved memory
/// (an upper bound of its peak allocated memory).
/// </summary>
public static class GpuMemory
{
    public static double? UsedGiB(int device = 0) => Query(device, "memory.used");

    /// <summary>The device's total memory as the driver reports it, or null where nvidia-smi cannot tell.</summary>
    public static double? TotalGiB(int device = 0) => Query(device, "memory.total");

    private static double? Query(int device, string field)
    {
        try
        {
            var info = new ProcessStartInfo("nvidia-smi", $"--id={device} --query-gpu={field} --format=csv,noheader,nounits")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            using var p = Process.Start(info)!;
            string output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return double.TryParse(output, System.Globalization.CultureInfo.InvariantCulture, out double mib) ? mib / 1024.0 : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
