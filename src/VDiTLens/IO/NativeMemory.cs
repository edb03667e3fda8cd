using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.IO;

/// <summary>Copies between raw memory and contiguous CPU tensors, in pieces small enough for a Span.</summary>
internal static class NativeMemory
{
    private const long ChunkBytes = 1L << 30;

    public static unsafe void CopyToTensor(byte* source, long byteCount, Tensor destination)
    {
        foreach (var (slice, offset) in Chunks(destination))
            using (slice)
            {
                var target = slice.bytes;
                new ReadOnlySpan<byte>(source + offset, target.Length).CopyTo(target);
            }
    }

    public static void WriteTensor(Tensor contiguousCpu, Stream output)
    {
        foreach (var (slice, _) in Chunks(contiguousCpu))
            using (slice)
                output.Write(slice.bytes);
    }

    /// <summary>Views of a contiguous CPU tensor, each under 1 GiB, with their byte offsets.</summary>
    private static IEnumerable<(Tensor Slice, long ByteOffset)> Chunks(Tensor contiguous)
    {
        using var flat = contiguous.view(-1);
        long elementSize = contiguous.ElementSize;
        long perChunk = ChunkBytes / elementSize;
        long count = flat.shape[0];
        for (long start = 0; start < count; start += perChunk)
            yield return (flat.narrow(0, start, Math.Min(perChunk, count - start)), start * elementSize);
    }

    /// <summary>Moves a freshly read CPU tensor to its device and dtype, disposing intermediates.</summary>
    public static Tensor MoveTo(Tensor cpu, Device? device, ScalarType? dtype)
    {
        var result = cpu;
        if (device is not null && device.type != DeviceType.CPU)
        {
            var moved = result.to(device);
            result.Dispose();
            result = moved;
        }
        if (dtype is { } d && d != result.dtype && result.is_floating_point())
        {
            var cast = result.to(d);
            result.Dispose();
            result = cast;
        }
        return result;
    }
}
