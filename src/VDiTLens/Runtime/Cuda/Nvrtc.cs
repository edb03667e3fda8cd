using System.Runtime.InteropServices;
using System.Text;

namespace VDiTLens.Runtime.Cuda;

/// <summary>Run-time compilation of CUDA C source to a cubin with NVRTC.</summary>
public static unsafe class Nvrtc
{
    private static readonly Lazy<Api> Functions = new(() => new Api(CudaLibraries.LoadNvrtc()));

    public static byte[] CompileToCubin(string source, string name, int computeMajor, int computeMinor, IEnumerable<string> options)
    {
        var api = Functions.Value;
        IntPtr program;
        using (var src = new Utf8(source))
        using (var nm = new Utf8(name))
            Check(api.CreateProgram(&program, src.Pointer, nm.Pointer, 0, null, null), "nvrtcCreateProgram");
        try
        {
            var all = options.Prepend($"--gpu-architecture=sm_{computeMajor}{computeMinor}").ToArray();
            var utf = all.Select(o => new Utf8(o)).ToArray();
            try
            {
                var ptrs = stackalloc IntPtr[utf.Length];
                for (int i = 0; i < utf.Length; i++) ptrs[i] = utf[i].Pointer;
                int rc = api.CompileProgram(program, utf.Length, ptrs);
                if (rc != 0)
                    throw new VDiTLensException($"NVRTC could not compile kernel '{name}' ({ErrorName(rc)}):\n{Log(api, program)}");
            }
            finally
            {
                foreach (var u in utf) u.Dispose();
            }
            nuint size;
            Check(api.GetCubinSize(program, &size), "nvrtcGetCUBINSize");
            var cubin = new byte[(int)size];
            fixed (byte* p = cubin) Check(api.GetCubin(program, p), "nvrtcGetCUBIN");
            return cubin;
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
