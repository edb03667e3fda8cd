using VDiTLens.Attention;

namespace VDiTLens.Models.Common;

/// <summary>
/// Each block's attention among the video tokens: its self-attention site (Wan) or its joint text-video attention
/// site (CogVideoX, Mochi-1, HunyuanVideo), found among the block's own sites; text-only sites outside the blocks
/// (HunyuanVideo's token refiner, Mochi-1's pooler) are never among them.
/// </summary>
public static class BlockAttention
{
    /// <summary>The site of block <paramref name="block"/>, or null when the block has none.</summary>
    public static AttentionSite? Of(IVideoTransformer model, int block) =>
        model.Sites.FirstOrDefault(s => s.Name.StartsWith(model.Hooks.Names[block] + ".", StringComparison.Ordinal)
                                        && s.Kind is AttentionKind.Self or AttentionKind.Joint);

    /// <summary>Every block's site, in block order, with the block's index.</summary>
    public static IReadOnlyList<(int Block, AttentionSite Site)> All(IVideoTransformer model) =>
        Enumerable.Range(0, model.Hooks.Names.Count)
            .Select(b => (Block: b, Site: Of(model, b)))
            .Where(x => x.Site is not null)
            .Select(x => (x.Block, x.Site!))
            .ToList();
}
