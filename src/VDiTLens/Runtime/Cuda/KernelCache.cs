namespace VDiTLens.Runtime.Cuda;

/// <summary>
/// Compiles each (source, defines) once per device with NVRTC and keeps the loaded kernel. Whether run-time
/// compilation works at all is found out once; when it does not, <see cref="Unavailable"/> says why.
/// </summary>
public static class KernelCache
{
    private static readonly object Gate = new();
    private static readonly Dictionary<string, CudaKernel> Kernels = new();
    private static string? _unavailable;
    private static bool _probed;

    /// <summary>Null when kernels can be compiled and launched; else the reason (the fused paths then fall back).</summary>
    public static string? Unavailable(int device)
    {
        lock (Gate)
        {
            if (_probed) return _unavailable;
            _probed = true;
            try
            {
                CudaDriver.CurrentContext(device);
                var (major, minor) = CudaDriver.ComputeCapability(device);
                Nvrtc.CompileToCubin("extern \"C\" __global__ void probe() {}", "probe.cu", major, minor, Array.Empty<string>());
            }
            catch (Exception e) when (e is VDiTLensException or DllNotFoundException or EntryPointNotFoundException)
            {
                _unavailable = e.Message;
            }
            return _unavailable;
        }
    }

    public static CudaKernel Get(int device, string name, string source, IReadOnlyDictionary<string, long> defines)
    {
        string key = $"{device}|{name}|{string.Join(",", defines.Select(d => $"{d.Key}={d.Value}"))}";
        lock (Gate)
        {
            CudaDriver.CurrentContext(device);
            if (Kernels.TryGetValue(key, out var kernel)) return kernel;
            var (major, minor) = CudaDriver.ComputeCapability(device);
            var options = defines.Select(d => $"-D{d.Key}={d.Value}").Append("-std=c++17");
            var cubin = Nvrtc.CompileToCubin(source, name + ".cu", major, minor, options);
            var module = CudaDriver.LoadModule(cubin);
            kernel = new CudaKernel(name, CudaDriver.GetFunction(module, name));
            Kernels[key] = kernel;
            return kernel;
        }
    }
}
