using System.Runtime.InteropServices;

namespace VDiTLens.Runtime.Cuda;

/// <summary>
/// The few CUDA driver API calls needed to load a cubin into libtorch's context and launch its kernels on the
/// default (NULL) stream, which orders them with libtorch's own work on that stream.
/// </summary>
public static unsafe class CudaDriver
{
    private const int ComputeCapabilityMajor = 75, ComputeCapabilityMinor = 76;
    private static readonly Lazy<Api> Functions = new(() =>
    {
        var api = new Api(CudaLibraries.LoadDriver());
        Check(api.Init(0), "cuInit");
        return api;
    });

    /// <summary>The context libtorch uses on this thread for the device (its primary context).</summary>
    public static IntPtr CurrentContext(int device)
    {
        var api = Functions.Value;
        IntPtr ctx;
        Check(api.CtxGetCurrent(&ctx), "cuCtxGetCurrent");
        if (ctx != IntPtr.Zero)
        {
            int current;
            Check(api.CtxGetDevice(&current), "cuCtxGetDevice");
            if (current == device) return ctx;
        }
        Check(api.DevicePrimaryCtxRetain(&ctx, device), "cuDevicePrimaryCtxRetain");
        Check(api.CtxSetCurrent(ctx), "cuCtxSetCurrent");
        return ctx;
    }

    public static (int Major, int Minor) ComputeCapability(int device)
    {
        var api = Functions.Value;
        int major, minor;
        Check(api.DeviceGetAttribute(&major, ComputeCapabilityMajor, device), "cuDeviceGetAttribute");
        Check(api.DeviceGetAttribute(&minor, ComputeCapabilityMinor, device), "cuDeviceGetAttribute");
        return (major, minor);
    }

    public static IntPtr LoadModule(byte[] cubin)
    {
        IntPtr module;
        fixed (byte* p = cubin) Check(Functions.Value.ModuleLoadData(&module, p), "cuModuleLoadData");
        return module;
    }

    public static IntPtr GetFunction(IntPtr module, string name)
    {
        IntPtr function;
        using var n = new Utf8(name);
        Check(Functions.Value.ModuleGetFunction(&function, module, n.Pointer), $"cuModuleGetFunction({name})");
        return function;
    }

    /// <summary>Set VDITLENS_CUDA_SYNC=1 to wait for each kernel right after its launch and check it (for debugging).</summary>
    public static bool SynchronizeAfterLaunch { get; } = Environment.GetEnvironmentVariable("VDITLENS_CUDA_SYNC") == "1";

    /// <summary>
    /// Launches on the legacy default (NULL) stream; null when launched, else the driver's reason. This orders the
    /// kernel after libtorch's work only while libtorch's current stream is the default one (TorchSharp exposes no
    /// other), and it is also why the launchers may free their temporaries when their scope ends, before the kernel
    /// has run: the caching allocator hands that memory out again only to work queued behind it on the same stream.
    /// </summary>
    public static string? Launch(IntPtr function, uint gridX, uint blockX, void** args)
    {
        int rc = Functions.Value.LaunchKernel(function, gridX, 1, 1, blockX, 1, 1, 0, IntPtr.Zero, args, null);
        return rc == 0 ? null : ErrorText(rc);
    }

    /// <summary>Waits for all work in the current context; null when it all succeeded, else the driver's error.</summary>
    public static string? Synchronize()
    {
        int rc = Functions.Value.CtxSynchronize();
        return rc == 0 ? null : ErrorText(rc);
    }

    private static void Check(int rc, string call)
    {
        if (rc != 0) throw new VDiTLensException($"{call} failed: {ErrorText(rc)}");
    }

    private static string ErrorText(int rc)
    {
        string message = $"error {rc}";
        if (Functions.IsValueCreated)
        {
            IntPtr text;
            if (Functions.Value.GetErrorString(rc, &text) == 0 && text != IntPtr.Zero) message = Marshal.PtrToStringAnsi(text) ?? message;
        }
        return message;
    }

    private sealed class Api
    {
        public readonly delegate* unmanaged<uint, int> Init;
        public readonly delegate* unmanaged<IntPtr*, int> CtxGetCurrent;
        public readonly delegate* unmanaged<IntPtr, int> CtxSetCurrent;
        public readonly delegate* unmanaged<int*, int> CtxGetDevice;
        public readonly delegate* unmanaged<IntPtr*, int, int> DevicePrimaryCtxRetain;
        public readonly delegate* unmanaged<int*, int, int, int> DeviceGetAttribute;
        public readonly delegate* unmanaged<IntPtr*, byte*, int> ModuleLoadData;
        public readonly delegate* unmanaged<IntPtr*, IntPtr, IntPtr, int> ModuleGetFunction;
        public readonly delegate* unmanaged<IntPtr, uint, uint, uint, uint, uint, uint, uint, IntPtr, void**, void**, int> LaunchKernel;
        public readonly delegate* unmanaged<int, IntPtr*, int> GetErrorString;
        public readonly delegate* unmanaged<int> CtxSynchronize;

        public Api(IntPtr lib)
        {
            Init = (delegate* unmanaged<uint, int>)NativeLibrary.GetExport(lib, "cuInit");
            CtxGetCurrent = (delegate* unmanaged<IntPtr*, int>)NativeLibrary.GetExport(lib, "cuCtxGetCurrent");
            CtxSetCurrent = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(lib, "cuCtxSetCurrent");
            CtxGetDevice = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(lib, "cuCtxGetDevice");
            DevicePrimaryCtxRetain = (delegate* unmanaged<IntPtr*, int, int>)NativeLibrary.GetExport(lib, "cuDevicePrimaryCtxRetain");
            DeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)NativeLibrary.GetExport(lib, "cuDeviceGetAttribute");
            ModuleLoadData = (delegate* unmanaged<IntPtr*, byte*, int>)NativeLibrary.GetExport(lib, "cuModuleLoadData");
            ModuleGetFunction = (delegate* unmanaged<IntPtr*, IntPtr, IntPtr, int>)NativeLibrary.GetExport(lib, "cuModuleGetFunction");
            LaunchKernel = (delegate* unmanaged<IntPtr, uint, uint, uint, uint, uint, uint, uint, IntPtr, void**, void**, int>)NativeLibrary.GetExport(lib, "cuLaunchKernel");
            GetErrorString = (delegate* unmanaged<int, IntPtr*, int>)NativeLibrary.GetExport(lib, "cuGetErrorString");
            CtxSynchronize = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "cuCtxSynchronize");
        }
    }
}
