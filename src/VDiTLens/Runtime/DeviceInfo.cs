using System.Diagnostics;
using System.Runtime.InteropServices;
using TorchSharp;

namespace VDiTLens.Runtime;

public sealed record GpuInfo(int Index, string Name, string Memory, string ComputeCapability);

/// <summary>What the machine offers: OS, runtime, libtorch and devices.</summary>
public static class DeviceInfo
{
    public static string OperatingSystem => RuntimeInformation.OSDescription + " " + RuntimeInformation.OSArchitecture;
    public static string DotNet => RuntimeInformation.FrameworkDescription;
    public static string TorchSharpVersion => typeof(torch).Assembly.GetName().Version?.ToString() ?? "?";

    /// <summary>libtorch's version: from a PyTorch installation's version.py when external, else TorchSharp's bundled build.</summary>
    public static string LibTorchVersion(string? folder)
    {
        if (folder is not null)
        {
            string versionFile = Path.Combine(folder, "..", "version.py");
            if (File.Exists(versionFile))
                foreach (var line in File.ReadLines(versionFile))
                    if (line.StartsWith("__version__"))
                        return line.Split('=')[1].Trim().Trim('\'', '"');
            string buildVersion = Path.Combine(folder, "..", "build-version");
            if (File.Exists(buildVersion)) return File.ReadAllText(buildVersion).Trim();
        }
        var cpuPackage = AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "TorchSharp");
        return cpuPackage ? "bundled with TorchSharp " + TorchSharpVersion + " (libtorch 2.10 for TorchSharp 0.107)" : "?";
    }

    public static IReadOnlyList<GpuInfo> Gpus()
    {
        if (!torch.cuda.is_available()) return Array.Empty<GpuInfo>();
        var result = new List<GpuInfo>();
        try
        {
            var info = new ProcessStartInfo("nvidia-smi", "--query-gpu=index,name,memory.total,compute_cap --format=csv,noheader")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            using var p = Process.Start(info)!;
            foreach (var line in p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var f = line.Split(',').Select(s => s.Trim()).ToArray();
                if (f.Length >= 4 && int.TryParse(f[0], out int i)) result.Add(new GpuInfo(i, f[1], f[2], f[3]));
            }
            p.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // nvidia-smi absent: report what torch knows.
        }
        if (result.Count == 0)
            for (int i = 0; i < torch.cuda.device_count(); i++) result.Add(new GpuInfo(i, "CUDA device", "?", "?"));
        return result;
    }
}
