using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.Llama;

/// <summary>
/// transformers' default Llama rotary embedding: inv_freq = θ^(−2i/d), angles = position·inv_freq duplicated over
/// both halves of the head, applied as x·cos + rotate_half(x)·sin (halves, not interleaved pairs).
/// </summary>
public static class LlamaRotaryEmbedding
{
    /// <summary>
    /// cos, sin [1, 1, L, head_dim] in <paramref name="dtype"/> for positions 0..L−1. As in transformers, inv_freq, the
    /// angles and their cos/sin are float32 whatever the model dtype, then cast.
    /// </summary>
    public static (Tensor Cos, Tensor Sin) Tables(long length, int headDim, double theta, Device device, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var invFreq = 1.0 / torch.pow(theta, torch.arange(0, headDim, 2, dtype: ScalarType.Int64).to(ScalarType.Float32) / headDim);
        var angles = torch.outer(torch.arange(length, dtype: ScalarType.Float32), invFreq);
        var emb = torch.cat(new[] { angles, angles }, -1).to(device);
        return (emb.cos().to(dtype).view(1, 1, length, headDim).MoveToOuterDisposeScope(),
                emb.sin().to(dtype).view(1, 1, length, headDim).MoveToOuterDisposeScope());
    }

    /// <summary>Rotates x [B, H, L, D].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = torch.NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = torch.cat(new[] { -x2, x1 }, -1);
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }
}
