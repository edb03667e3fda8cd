using System.Runtime.InteropServices;
using TorchSharp;

namespace VDiTLens.Runtime;

/// <summary>
/// libtorch's NNPACK switch (PyTorch's <c>torch.backends.nnpack.set_flags</c>), which TorchSharp does not expose. On
/// CPUs NNPACK does not support, every CPU convolution (the metrics' SSIM filters, a patch embedding) tries to start
/// it and prints "Could not initialize NNPACK! Reason: Unsupported hardware." — hundreds of lines per study cell.
/// Turned off, convolutions take libtorch's other CPU paths, the ones already taken where NNPACK cannot start.
/// Linux only (the entry points are found by their Itanium C++ names); elsewhere nothing changes.
/// </summary>
public static class Nnpack
{
    private const string GlobalContext = "_ZN2at13globalContextEv";
    private const string SetEnabled = "_ZN2at7Context20setUserEnabledNNPACKEb";
    private const string GetEnabled = "_ZNK2at7Context17userEnabledNNPACKEv";

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate IntPtr ContextFn();
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate void SetFn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] [return: MarshalAs(UnmanagedType.U1)] private delegate bool GetFn(IntPtr context);

    /// <summary>Whether libtorch will try NNPACK for CPU convolutions; null where the switch cannot be reached.</summary>
    public static bool? Enabled => Export(GetEnabled) is { } get && Context() is { } context
        ? Marshal.GetDelegateForFunctionPointer<GetFn>(get)(context) : null;

    /// <summary>Turns NNPACK off; false where the switch cannot be reached.</summary>
    public static bool Disable()
    {
        if (Export(SetEnabled) is not { } set || Context() is not { } context) return false;
        Marshal.GetDelegateForFunctionPointer<SetFn>(set)(context, false);
        return true;
    }

    private static IntPtr? Context() => Export(GlobalContext) is { } f ? Marshal.GetDelegateForFunctionPointer<ContextFn>(f)() : null;

    private static IntPtr? Export(string symbol)
    {
        if (!OperatingSystem.IsLinux()) return null;
        if (!NativeLibrary.TryLoad("libtorch_cpu.so", typeof(torch).Assembly, null, out var library)
            && !NativeLibrary.TryLoad("libtorch_cpu.so", out library)) return null;
        return NativeLibrary.TryGetExport(library, symbol, out var address) ? address : null;
    }
}
