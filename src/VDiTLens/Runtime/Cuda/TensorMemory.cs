using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace VDiTLens.Runtime.Cuda;

/// <summary>Device addresses of TorchSharp tensors (storage offset included), from LibTorchSharp's exported C API.</summary>
public static partial class TensorMemory
{
    [LibraryImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    private static partial IntPtr TensorData(IntPtr tensor);

    public static IntPtr Address(Tensor t) => TensorData(t.Handle);

    /// <summary>Null for a null tensor (kernels take a null pointer as "absent").</summary>
    public static IntPtr AddressOrNull(Tensor? t) => t is null ? IntPtr.Zero : Address(t);

    public static bool Aligned16(Tensor t) => Address(t) % 16 == 0;
}
