using System.Runtime.InteropServices;
using TorchSharp;

namespace VDiTLens.Runtime;

/// <summary>Loads libtorch once per process, from an explicit folder if one is named.</summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static bool _initialised;

    /// <summary>Human-readable origin of the libtorch in use (for <c>doctor</c>).</summary>
    public static string Source { get; private set; } = "not loaded";

    // Load order matters: each library's NEEDED entries must already be resident when it is opened by full path.
    private static readonly string[] PreloadOrder =
    {
        "libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so",
    };

    public static void Initialise(string? libTorchFolder = null)
    {
        lock (Gate)
        {
            if (_initialised) return;
            string? folder = LibTorchLocator.Resolve(libTorchFolder);
            if (folder is not null)
            {
                foreach (var name in PreloadOrder)
                {
                    string file = Path.Combine(folder, name);
                    if (File.Exists(file) && !NativeLibrary.TryLoad(file, out _))
                        throw new VDiTLensException($"{file}: could not be loaded (is it built for this platform? is its CUDA runtime on LD_LIBRARY_PATH?)");
                }
                Source = $"external: {folder}";
            }
            else
            {
                Source = "TorchSharp runtime package (or LD_LIBRARY_PATH)";
            }
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
            }
            catch (Exception e) when (e is not VDiTLensException)
            {
                throw new VDiTLensException($"libtorch could not be loaded: {e.InnerException?.Message ?? e.Message}");
            }
            _initialised = true;
        }
    }
}
