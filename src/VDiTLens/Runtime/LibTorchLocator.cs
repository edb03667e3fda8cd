using System.Diagnostics;

namespace VDiTLens.Runtime;

/// <summary>
/// Finds the libtorch to use. Order: an explicit folder (option), the VDITLENS_LIBTORCH environment variable,
/// and, when either says "python", the lib folder of the PyTorch that <c>python3 -c "import torch"</c> finds.
/// With none of them, TorchSharp's own search applies (the bundled CPU build, a TorchSharp CUDA package, or
/// LD_LIBRARY_PATH).
/// </summary>
public static class LibTorchLocator
{
    public const string EnvironmentVariable = "VDITLENS_LIBTORCH";

    public static string? Resolve(string? option)
    {
        string? request = string.IsNullOrWhiteSpace(option) ? Environment.GetEnvironmentVariable(EnvironmentVariable) : option;
        if (string.IsNullOrWhiteSpace(request)) return null;
        string folder = request == "python" ? FromPython() : request;
        if (!File.Exists(Path.Combine(folder, "libtorch.so")) && !File.Exists(Path.Combine(folder, "torch.dll")))
            throw new VDiTLensException($"libtorch folder '{folder}' has no libtorch.so; pass the 'lib' folder of a PyTorch or libtorch installation (or 'python' to ask python3)");
        return Path.GetFullPath(folder);
    }

    public static string FromPython()
    {
        try
        {
            var info = new ProcessStartInfo("python3", "-c \"import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))\"")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            using var process = Process.Start(info)!;
            string output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            if (process.ExitCode != 0 || output.Length == 0)
                throw new VDiTLensException("python3 could not import torch; install PyTorch or pass the libtorch folder explicitly");
            return output;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new VDiTLensException("python3 not found; pass the libtorch folder explicitly");
        }
    }
}
