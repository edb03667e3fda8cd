using System.Runtime.InteropServices;
using System.Text;

namespace VDiTLens.Runtime.Cuda;

/// <summary>Run-time compilation of CUDA C source with NVRTC: to a cubin for a real architecture (<c>sm_80</c>), to PTX for a virtual one (<c>compute_80</c>).</summary>
public static unsafe class Nvrtc
{
    private static readonly Lazy<Api> Functions = new(() => new Api(CudaLibraries.LoadNvrtc()));

    /// <summary>NVRTC's version (major, minor); loads the library (throws when it cannot be found).</summary>
    public static (int Major, int Minor) Version()
    {
        int major, minor;
        Check(Functions.Value.GetVersion(&major, &minor), "nvrtcVersion");
        return (major, minor);
    }

    /// <summary>The real architectures this NVRTC compiles for (e.g. 75, 80, 90).</summary>
    public static IReadOnlyList<int> SupportedArchitectures()
    {
        var api = Functions.Value;
        int count;
        Check(api.GetNumSupportedArchs(&count), "nvrtcGetNumSupportedArchs");
        var archs = new int[count];
        fixed (int* p = archs) Check(api.GetSupportedArchs(p), "nvrtcGetSupportedArchs");
        return archs;
    }

    /// <summary>
    /// Compiles <paramref name="source"/> (file name <paramref name="name"/>, which names the kernel in errors) with the
    /// given headers (include name → text) for <paramref name="architecture"/>: <c>sm_XY</c> gives a cubin,
    /// <c>compute_XY</c> gives PTX text (UTF-8 bytes).
    /// </summary>
    public static byte[] Compile(string source, string name, IReadOnlyDictionary<string, string> headers, string architecture, IEnumerable<string> options)
    {
        var api = Functions.Value;
        IntPtr program;
        var headerTexts = headers.Values.Select(h => new Utf8(h)).ToArray();
        var headerNames = headers.Keys.Select(h => new Utf8(h)).ToArray();
        try
        {
            var texts = stackalloc IntPtr[Math.Max(1, headerTexts.Length)];
            var names = stackalloc IntPtr[Math.Max(1, headerNames.Length)];
            for (int i = 0; i < headerTexts.Length; i++) { texts[i] = headerTexts[i].Pointer; names[i] = headerNames[i].Pointer; }
            using var src = new Utf8(source);
            using var nm = new Utf8(name);
            Check(api.CreateProgram(&program, src.Pointer, nm.Pointer, headerTexts.Length, texts, names), "nvrtcCreateProgram");
        }
        finally
        {
            foreach (var u in headerTexts.Concat(headerNames)) u.Dispose();
        }
        try
        {
            var all = options.Prepend($"--gpu-architecture={architecture}").ToArray();
            var utf = all.Select(o => new Utf8(o)).ToArray();
            try
            {
                var ptrs = stackalloc IntPtr[utf.Length];
                for (int i = 0; i < utf.Length; i++) ptrs[i] = utf[i].Pointer;
                int rc = api.CompileProgram(program, utf.Length, ptrs);
                if (rc != 0)
                    throw new VDiTLensException($"NVRTC could not compile kernel '{name}' for {architecture} ({ErrorName(rc)}):\n{Log(api, program)}");
            }
            finally
            {
                foreach (var u in utf) u.Dispose();
            }
            bool cubin = architecture.StartsWith("sm_", StringComparison.Ordinal);
            nuint size;
            Check(cubin ? api.GetCubinSize(program, &size) : api.GetPtxSize(program, &size), cubin ? "nvrtcGetCUBINSize" : "nvrtcGetPTXSize");
            var image = new byte[(int)size];
            fixed (byte* p = image) Check(cubin ? api.GetCubin(program, p) : api.GetPtx(program, p), cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX");
            return image;
        }
        finally
        {
            api.DestroyProgram(&program);
        }
    }

    private static string Log(Api api, IntPtr program)
    {
        nuint size;
        if (api.GetProgramLogSize(program, &size) != 0 || size == 0) return "";
        var buffer = new byte[(int)size];
        fixed (byte* p = buffer) api.GetProgramLog(program, p);
        return Encoding.UTF8.GetString(buffer).TrimEnd('\0');
    }

    private static string ErrorName(int rc)
    {
        var p = Functions.Value.GetErrorString(rc);
        return p == IntPtr.Zero ? $"error {rc}" : Marshal.PtrToStringAnsi(p) ?? $"error {rc}";
    }

    private static void Check(int rc, string call)
    {
        if (rc != 0) throw new VDiTLensException($"{call} failed: {ErrorName(rc)}");
    }

    private sealed class Api
    {
        public readonly delegate* unmanaged<IntPtr*, IntPtr, IntPtr, int, IntPtr*, IntPtr*, int> CreateProgram;
        public readonly delegate* unmanaged<IntPtr, int, IntPtr*, int> CompileProgram;
        public readonly delegate* unmanaged<IntPtr, nuint*, int> GetProgramLogSize;
        public readonly delegate* unmanaged<IntPtr, byte*, int> GetProgramLog;
        public readonly delegate* unmanaged<IntPtr, nuint*, int> GetCubinSize;
        public readonly delegate* unmanaged<IntPtr, byte*, int> GetCubin;
        public readonly delegate* unmanaged<IntPtr*, int> DestroyProgram;
        public readonly delegate* unmanaged<int, IntPtr> GetErrorString;
        public readonly delegate* unmanaged<IntPtr, nuint*, int> GetPtxSize;
        public readonly delegate* unmanaged<IntPtr, byte*, int> GetPtx;
        public readonly delegate* unmanaged<int*, int*, int> GetVersion;
        public readonly delegate* unmanaged<int*, int> GetNumSupportedArchs;
        public readonly delegate* unmanaged<int*, int> GetSupportedArchs;

        public Api(IntPtr lib)
        {
            CreateProgram = (delegate* unmanaged<IntPtr*, IntPtr, IntPtr, int, IntPtr*, IntPtr*, int>)NativeLibrary.GetExport(lib, "nvrtcCreateProgram");
            CompileProgram = (delegate* unmanaged<IntPtr, int, IntPtr*, int>)NativeLibrary.GetExport(lib, "nvrtcCompileProgram");
            GetProgramLogSize = (delegate* unmanaged<IntPtr, nuint*, int>)NativeLibrary.GetExport(lib, "nvrtcGetProgramLogSize");
            GetProgramLog = (delegate* unmanaged<IntPtr, byte*, int>)NativeLibrary.GetExport(lib, "nvrtcGetProgramLog");
            GetCubinSize = (delegate* unmanaged<IntPtr, nuint*, int>)NativeLibrary.GetExport(lib, "nvrtcGetCUBINSize");
            GetCubin = (delegate* unmanaged<IntPtr, byte*, int>)NativeLibrary.GetExport(lib, "nvrtcGetCUBIN");
            DestroyProgram = (delegate* unmanaged<IntPtr*, int>)NativeLibrary.GetExport(lib, "nvrtcDestroyProgram");
            GetErrorString = (delegate* unmanaged<int, IntPtr>)NativeLibrary.GetExport(lib, "nvrtcGetErrorString");
            GetPtxSize = (delegate* unmanaged<IntPtr, nuint*, int>)NativeLibrary.GetExport(lib, "nvrtcGetPTXSize");
            GetPtx = (delegate* unmanaged<IntPtr, byte*, int>)NativeLibrary.GetExport(lib, "nvrtcGetPTX");
            GetVersion = (delegate* unmanaged<int*, int*, int>)NativeLibrary.GetExport(lib, "nvrtcVersion");
            GetNumSupportedArchs = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(lib, "nvrtcGetNumSupportedArchs");
            GetSupportedArchs = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(lib, "nvrtcGetSupportedArchs");
        }
    }
}

/// <summary>A NUL-terminated UTF-8 copy of a string in unmanaged memory.</summary>
internal sealed class Utf8 : IDisposable
{
    public IntPtr Pointer { get; private set; }
    public Utf8(string s) => Pointer = Marshal.StringToCoTaskMemUTF8(s);
    public void Dispose()
    {
        if (Pointer != IntPtr.Zero) Marshal.FreeCoTaskMem(Pointer);
        Pointer = IntPtr.Zero;
    }
}
