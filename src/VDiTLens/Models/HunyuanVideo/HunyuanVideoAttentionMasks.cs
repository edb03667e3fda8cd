using TorchSharp;
using static TorchSharp.torch;
using VDiTLens.Attention;

namespace VDiTLens.Models.HunyuanVideo;

/// <summary>The boolean masks diffusers builds from <c>encoder_attention_mask</c> and passes to SDPA (true = may attend).</summary>
public static class HunyuanVideoAttentionMasks
{
    /// <summary>Real text tokens as the token refiner sees them: <c>mask.bool()</c>, [B, L].</summary>
    public static Tensor TextValid(Tensor encoderMask) => encoderMask.to(ScalarType.Bool);

    /// <summary>
    /// Token-refiner self-attention mask [B, 1, L, L]: valid query and valid key, with key 0 always allowed so that
    /// padded query rows attend to the first token only instead of to nothing.
    /// </summary>
    public static Tensor Refiner(Tensor encoderMask)
    {
        using var scope = torch.NewDisposeScope();
        long b = encoderMask.shape[0], l = encoderMask.shape[1];
        var valid = TextValid(encoderMask);
        var mask = valid.view(b, 1, 1, l).logical_and(valid.view(b, 1, l, 1));
        mask[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Colon, 0] = torch.tensor(true);
        return mask.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Keys of the joint [video, text] sequence that may be attended, [B, Nvid + L]: all video tokens and the first
    /// <c>sum(mask)</c> text tokens. diffusers counts the valid tokens (it assumes they form a prefix, as tokenizer
    /// padding does) and does not mask padded query rows; both are reproduced here.
    /// </summary>
    public static Tensor JointKeys(Tensor encoderMask, long videoTokens)
    {
        using var scope = torch.NewDisposeScope();
        long length = videoTokens + encoderMask.shape[1];
        var effective = encoderMask.to(ScalarType.Int32).sum(1, type: ScalarType.Int64) + videoTokens;
        var indices = torch.arange(length, dtype: ScalarType.Int64, device: encoderMask.device).unsqueeze(0);
        return indices.lt(effective.unsqueeze(1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// When every row counts the same number of valid text tokens, the joint key mask is one shared prefix
    /// (<see cref="JointKeys"/> keeps the first Nvid + sum(mask) keys), which the dense kernel can attend unmasked.
    /// </summary>
    public static PrefixKeyMask? SharedPrefix(Tensor encoderMask, long videoTokens, Tensor jointMask)
    {
        using var scope = torch.NewDisposeScope();
        var counts = encoderMask.to(ScalarType.Int32).sum(1, type: ScalarType.Int64);
        long first = counts[0].item<long>();
        if (!counts.eq(first).all().item<bool>()) return null;
        return new PrefixKeyMask(jointMask, videoTokens + first);
    }
}
