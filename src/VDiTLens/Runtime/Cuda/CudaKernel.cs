namespace VDiTLens.Runtime.Cuda;

/// <summary>A kernel argument: a device pointer, a 64-bit integer or a float, passed by value.</summary>
public readonly record struct KernelArg(ulong Bits, KernelArgKind Kind)
{
    public static implicit operator KernelArg(IntPtr p) => new((ulong)p, KernelArgKind.Pointer);
    public static implicit operator KernelArg(long v) => new((ulong)v, KernelArgKind.Int64);
    public static implicit operator KernelArg(float v) => new(BitConverter.SingleToUInt32Bits(v), KernelArgKind.Float32);
}

/// <summary>One compiled kernel variant in one CUDA context, launched on the default stream with a 1D grid.</summary>
public sealed class CudaKernel
{
    private readonly IntPtr _function;

    public KernelVariant Variant { get; }
    public int Device { get; }
    public IReadOnlyList<KernelParameter> Parameters { get; }

    public CudaKernel(KernelVariant variant, int device, IntPtr function, IReadOnlyList<KernelParameter> parameters)
    {
        Variant = variant;
        Device = device;
        _function = function;
        Parameters = parameters;
    }

    /// <summary>
    /// Launches the kernel; false (the variant then disabled on this device, with one warning) when the arguments do
    /// not fit its declared parameters or the driver refuses the launch, and the caller runs its reference instead.
    /// With VDITLENS_CUDA_SYNC=1 it waits for the kernel and throws, naming it, if it faulted.
    /// </summary>
    public unsafe bool TryLaunch(uint grid, uint block, params KernelArg[] args)
    {
        if (KernelSignature.Mismatch(Parameters, args) is { } mismatch)
        {
            KernelCache.Disable(Device, Variant, "arguments do not fit the kernel: " + mismatch);
            return false;
        }
        // Every argument sits in its own 8-byte slot; a float or a 32-bit value is read from the slot's low bytes
        // (little-endian), which is what the kernel's 4-byte parameter expects.
        ulong* slots = stackalloc ulong[args.Length];
        void** pointers = stackalloc void*[args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            slots[i] = args[i].Bits;
            pointers[i] = &slots[i];
        }
        if (CudaDriver.Launch(_function, grid, block, pointers) is { } refused)
        {
            KernelCache.Disable(Device, Variant, "launch refused: " + refused);
            return false;
        }
        if (CudaDriver.SynchronizeAfterLaunch && CudaDriver.Synchronize() is { } fault)
            throw new VDiTLensException($"CUDA kernel {Variant} failed on cuda:{Device}: {fault} (seen by VDITLENS_CUDA_SYNC=1 right after its launch)");
        return true;
    }
}
