namespace VDiTLens.Runtime.Cuda;

/// <summary>A kernel argument: a device pointer, a 64-bit integer or a float, passed by value.</summary>
public readonly record struct KernelArg(ulong Bits)
{
    public static implicit operator KernelArg(IntPtr p) => new((ulong)p);
    public static implicit operator KernelArg(long v) => new((ulong)v);
    public static implicit operator KernelArg(float v) => new(BitConverter.SingleToUInt32Bits(v));
}

/// <summary>One compiled kernel in one CUDA context, launched on the default stream with a 1D grid.</summary>
public sealed class CudaKernel
{
    private readonly IntPtr _function;
    public string Name { get; }

    public CudaKernel(string name, IntPtr function)
    {
        Name = name;
        _function = function;
    }

    // Every argument sits in its own 8-byte slot; a float or a 32-bit value is read from the slot's low bytes
    // (little-endian), which is what the kernel's 4-byte parameter expects.
    public unsafe void Launch(uint grid, uint block, params KernelArg[] args)
    {
        ulong* slots = stackalloc ulong[args.Length];
        void** pointers = stackalloc void*[args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            slots[i] = args[i].Bits;
            pointers[i] = &slots[i];
        }
        CudaDriver.Launch(_function, grid, block, pointers);
    }
}
