using System.Runtime.InteropServices;

namespace VDiTLens.Runtime;

/// <summary>
/// Turns off libtorch's oneDNN (mkldnn) CPU backend for the process. Its AVX-512 convolution kernels return wrong
/// numbers, NaN included, on some CPUs (AMD Zen 4: float32 convolutions with 24 input channels off by 20 % relative
/// L2, bf16 3-D convolutions by 40–70 %; docs/native-runtime.md), so CPU convolutions take ATen's own kernels instead.
/// TorchSharp has no binding for the switch; it is <c>at::globalContext().setUserEnabledMkldnn(false)</c>, called
/// through its exported C++ symbols. GPUs are not affected.
/// </summary>
public static class OneDnn
{
    private static readonly Lazy<bool> Disabled = new(DisableOnce, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>True once the backend is off; false where this libtorch does not export the switch.</summary>
    public static bool EnsureDisabled() => Disabled.Value;

    private static bool DisableOnce()
    {
        try
        {
            var context = GlobalContext();
            SetUserEnabledMkldnn(context, false);
            return !UserEnabledMkldnn(context);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("torch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static extern IntPtr GlobalContext();

    [DllImport("torch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    private static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport("torch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static extern bool UserEnabledMkldnn(IntPtr context);
}
