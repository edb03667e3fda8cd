using static TorchSharp.torch;

namespace VDiTLens.Metrics;

internal static class Shapes
{
    public static void CheckSame(Tensor a, Tensor b, string metric)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new VDiTLensException($"{metric}: inputs differ in shape ([{string.Join(", ", a.shape)}] vs [{string.Join(", ", b.shape)}]); compare outputs of the same size");
    }
}
