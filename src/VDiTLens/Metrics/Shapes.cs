using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>The shape check every comparison metric starts with.</summary>
public static class Shapes
{
    /// <summary>Throws unless <paramref name="a"/> and <paramref name="b"/> have the same shape; <paramref name="metric"/> names the metric in the message.</summary>
    public static void CheckSame(Tensor a, Tensor b, string metric)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new VDiTLensException($"{metric}: inputs differ in shape ([{string.Join(", ", a.shape)}] vs [{string.Join(", ", b.shape)}]); compare outputs of the same size");
    }
}
