namespace VDiTLens.Runtime.Cuda;

/// <summary>A kernel variant that could not be compiled, loaded or launched on a device; its callers run their reference.</summary>
public sealed record KernelFailure(int Device, string Variant, string Reason);

/// <summary>
/// Compiles each kernel variant once per device with NVRTC and keeps the loaded kernel. The one failure policy of
/// every kernel: when a variant cannot be compiled, loaded or launched on a device, <see cref="TryGet"/> (and
/// <see cref="CudaKernel.TryLaunch"/>) answer null/false, the caller computes its TorchSharp reference, one warning
/// line naming the variant and the reason goes to stderr, and the variant is not tried again on that device.
/// Whether run-time compilation works on a device at all is probed once (<see cref="Unavailable"/>).
/// </summary>
public static class KernelCache
{
    private static readonly object Gate = new();
    private static readonly Dictionary<(int, KernelVariant), CudaKernel> Kernels = new();
    private static readonly Dictionary<(int, KernelVariant), string> Failed = new();
    private static readonly Dictionary<int, string?> Probes = new();
    private static readonly List<KernelFailure> FailureList = new();

    /// <summary>The variants that failed, in order, with the reason (for benchmark logs and the checks).</summary>
    public static IReadOnlyList<KernelFailure> Failures
    {
        get { lock (Gate) return FailureList.ToArray(); }
    }

    /// <summary>The device index of a CUDA tensor (0 for the current device).</summary>
    public static int DeviceOf(TorchSharp.torch.Tensor x) => x.device.index < 0 ? 0 : x.device.index;

    /// <summary>Null when kernels can be compiled and launched on this device; else the reason (callers then fall back).</summary>
    public static string? Unavailable(int device)
    {
        lock (Gate)
        {
            if (Probes.TryGetValue(device, out var known)) return known;
            string? reason = null;
            try
            {
                CudaDriver.CurrentContext(device);
                Nvrtc.Compile("extern \"C\" __global__ void probe() {}", "probe.cu", new Dictionary<string, string>(), Architecture(device), Array.Empty<string>());
            }
            catch (Exception e) when (e is VDiTLensException or DllNotFoundException or EntryPointNotFoundException)
            {
                reason = e.Message;
                Console.Error.WriteLine($"warning: CUDA kernels unavailable on cuda:{device}: {FirstLine(reason)}; the TorchSharp reference paths run instead");
            }
            Probes[device] = reason;
            return reason;
        }
    }

    /// <summary>True once this variant failed on this device (callers that size work for the kernel path ask first).</summary>
    public static bool HasFailed(int device, KernelVariant variant)
    {
        lock (Gate) return Failed.ContainsKey((device, variant));
    }

    /// <summary>The kernel of this variant on this device, compiled and loaded on first use; null when that failed.</summary>
    public static CudaKernel? TryGet(int device, KernelVariant variant)
    {
        lock (Gate)
        {
            if (Failed.ContainsKey((device, variant))) return null;
            if (Kernels.TryGetValue((device, variant), out var kernel))
            {
                CudaDriver.CurrentContext(device);
                return kernel;
            }
            try
            {
                CudaDriver.CurrentContext(device);
                var cubin = KernelCompiler.Compile(variant, Architecture(device));
                var parameters = KernelSignature.Parse(KernelSources.Source(variant.Kernel), variant.Kernel);
                var module = CudaDriver.LoadModule(cubin);
                kernel = new CudaKernel(variant, device, CudaDriver.GetFunction(module, variant.Kernel), parameters);
                Kernels[(device, variant)] = kernel;
                return kernel;
            }
            catch (VDiTLensException e)
            {
                DisableLocked(device, variant, e.Message);
                return null;
            }
        }
    }

    /// <summary>Marks a variant failed on a device (callers fall back from now on) and warns once.</summary>
    public static void Disable(int device, KernelVariant variant, string reason)
    {
        lock (Gate) DisableLocked(device, variant, reason);
    }

    private static void DisableLocked(int device, KernelVariant variant, string reason)
    {
        if (!Failed.TryAdd((device, variant), reason)) return;
        Kernels.Remove((device, variant));
        FailureList.Add(new KernelFailure(device, variant.ToString(), reason));
        Console.Error.WriteLine($"warning: CUDA kernel {variant} cannot run on cuda:{device}: {FirstLine(reason)}; the TorchSharp reference runs instead");
    }

    private static string Architecture(int device)
    {
        var (major, minor) = CudaDriver.ComputeCapability(device);
        return $"sm_{major}{minor}";
    }

    /// <summary>The reason on one line: NVRTC's first error line when there is a log, else the message's first line.</summary>
    public static string FirstLine(string reason)
    {
        var lines = reason.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var error = lines.Skip(1).FirstOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase));
        return error is null ? lines.FirstOrDefault() ?? reason : $"{lines[0]} {error}";
    }
}
