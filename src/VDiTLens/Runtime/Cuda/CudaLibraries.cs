using System.Runtime.InteropServices;

namespace VDiTLens.Runtime.Cuda;

/// <summary>
/// Finds NVRTC and the CUDA driver. NVRTC is looked for first beside the libtorch in use (pip's PyTorch keeps
/// it in <c>site-packages/nvidia/*/lib</c>, a sibling of <c>torch/lib</c>), then on the loader's path (CUDA 13, 12, then
/// 11.2+, the soname of Debian's <c>libnvrtc11.2</c>, which the CI's compile tests use).
/// </summary>
public static class CudaLibraries
{
    private static readonly string[] NvrtcNames = { "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so", "nvrtc64_130_0.dll", "nvrtc64_120_0.dll" };
    private static readonly string[] DriverNames = { "libcuda.so.1", "libcuda.so", "nvcuda.dll" };

    public static IntPtr LoadNvrtc()
    {
        foreach (var file in NvrtcBesideLibTorch())
            if (NativeLibrary.TryLoad(file, out var handle)) return handle;
        return LoadFirst(NvrtcNames, "NVRTC (libnvrtc)", $"install PyTorch's nvidia CUDA wheels beside the libtorch named by {LibTorchLocator.EnvironmentVariable}, or put libnvrtc on LD_LIBRARY_PATH");
    }

    public static IntPtr LoadDriver() =>
        LoadFirst(DriverNames, "the CUDA driver (libcuda.so.1)", "is an NVIDIA driver installed?");

    private static IEnumerable<string> NvrtcBesideLibTorch()
    {
        string? torchLib = Environment.GetEnvironmentVariable(LibTorchLocator.EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(torchLib) || torchLib == "python" || !Directory.Exists(torchLib)) yield break;
        string nvidia = Path.GetFullPath(Path.Combine(torchLib, "..", "..", "nvidia"));
        if (!Directory.Exists(nvidia)) yield break;
        foreach (var lib in Directory.EnumerateDirectories(nvidia).Select(d => Path.Combine(d, "lib")).Where(Directory.Exists).OrderByDescending(d => d))
            foreach (var name in NvrtcNames)
                if (File.Exists(Path.Combine(lib, name))) yield return Path.Combine(lib, name);
    }

    private static IntPtr LoadFirst(IEnumerable<string> names, string what, string fix)
    {
        foreach (var name in names)
            if (NativeLibrary.TryLoad(name, out var handle)) return handle;
        throw new VDiTLensException($"{what} could not be loaded (tried {string.Join(", ", names)}): {fix}");
    }
}
