using static TorchSharp.torch;

namespace VDiTLens.Tests.IO;

internal static class Exact
{
    /// <summary>Same dtype, shape and bytes (bit-exact, NaN payloads included).</summary>
    public static bool Same(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape)
        && a.cpu().contiguous().bytes.SequenceEqual(b.cpu().contiguous().bytes);
}
