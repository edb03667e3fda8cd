using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>Post-processing of encoder outputs that pipelines apply before the transformer sees them.</summary>
public static class PromptEmbeddings
{
    /// <summary>
    /// WanPipeline's <c>_get_t5_prompt_embeds</c>: each sample keeps its first (number of mask ones) rows, the rest
    /// become zero. hidden [B, L, D], mask [B, L].
    /// </summary>
    public static Tensor ZeroPastLength(Tensor hidden, Tensor attentionMask)
    {
        using var scope = torch.NewDisposeScope();
        var lengths = attentionMask.to(hidden.device).gt(0).sum(1, keepdim: true); // [B, 1]
        var positions = torch.arange(hidden.shape[1], dtype: ScalarType.Int64, device: hidden.device).unsqueeze(0);
        var padding = positions.ge(lengths).unsqueeze(-1); // [B, L, 1]
        return hidden.masked_fill(padding, 0.0).MoveToOuterDisposeScope();
    }
}
