using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Attention;

/// <summary>The plain attention computations every path ends in.</summary>
public static class AttentionKernels
{
    /// <summary>
    /// scaled_dot_product_attention with an arbitrary scale. TorchSharp's SDPA has no scale argument and
    /// always uses 1/sqrt(head_dim), so q is pre-multiplied by scale·sqrt(head_dim) when they differ.
    /// </summary>
    public static Tensor Sdpa(Tensor q, Tensor k, Tensor v, double scale, Tensor? mask = null)
    {
        double d = q.shape[^1];
        double factor = scale * Math.Sqrt(d);
        if (Math.Abs(factor - 1.0) < 1e-12)
            return nn.functional.scaled_dot_product_attention(q, k, v, mask);
        using var scaled = q * factor;
        return nn.functional.scaled_dot_product_attention(scaled, k, v, mask);
    }

    public static double DefaultScale(Tensor q) => 1.0 / Math.Sqrt(q.shape[^1]);

    /// <summary>softmax(q kᵀ · scale + mask) for all keys of the given queries, computed densely (small inputs).</summary>
    public static Tensor Probabilities(Tensor q, Tensor k, double scale, Tensor? mask = null)
    {
        using var scope = torch.NewDisposeScope();
        var logits = torch.matmul(q, k.transpose(-2, -1)) * scale;
        if (mask is not null)
            logits = mask.dtype == ScalarType.Bool
                ? logits.masked_fill(mask.logical_not(), double.NegativeInfinity)
                : logits + mask;
        return logits.softmax(-1).MoveToOuterDisposeScope();
    }
}
