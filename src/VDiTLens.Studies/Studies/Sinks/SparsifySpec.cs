using System.Globalization;
using VDiTLens.Attention.BlockSparse;
using VDiTLens.Interventions;
using VDiTLens.Interventions.Config;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Attention;

namespace VDiTLens.Studies.Sinks;

/// <summary>
/// The CLI's sparsifier argument: the short form <c>type:value</c> (bottom_k:SPARSITY, top_k:K, threshold:P or
/// block_topk:SPARSITY with blocks of 64), or one <see cref="InterventionFactory"/> config object for every other option,
/// e.g. <c>{"type":"block_topk","sparsity":0.85,"block_size":120,"query_block_size":840}</c>. The given scope applies
/// where the object sets no scope field of its own.
/// </summary>
public static class SparsifySpec
{
    public static ISparseIntervention Parse(string text, AttentionSelector scope)
    {
        string trimmed = text.Trim();
        if (trimmed.StartsWith('{')) return FromConfig(trimmed, scope);
        var parts = text.Split(':', 2);
        if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            throw new VDiTLensException($"--sparsify '{text}': expected type:value, e.g. bottom_k:0.5, top_k:64, threshold:0.001, block_topk:0.85, or a JSON object {{\"type\":...}}");
        if (parts[0] == "block_topk") return new BlockTopKAttention(new BlockTopKSelection(64, sparsity: value), scope);
        ISparsifier sparsifier = parts[0] switch
        {
            "bottom_k" => new BottomKSparsifier(value),
            "bottom_k_head" => new BottomKPerHeadSparsifier(value),
            "top_k" => new TopKSparsifier((long)value),
            "threshold" => new ThresholdSparsifier(value),
            _ => throw new VDiTLensException($"--sparsify '{text}': type '{parts[0]}' is not bottom_k, bottom_k_head, top_k, threshold or block_topk"),
        };
        return new SparseAttention(sparsifier, scope);
    }

    private static ISparseIntervention FromConfig(string json, AttentionSelector scope)
    {
        var spec = InterventionConfig.Parse($"[{json}]", "--sparsify").Single();
        var own = spec.Scope;
        var merged = own with
        {
            Sites = own.Sites.Count > 0 ? own.Sites : scope.Sites,
            Heads = own.Heads.Count > 0 ? own.Heads : scope.Heads,
            Layers = own.Layers.IsAll ? scope.Layers : own.Layers,
            Steps = own.Steps.IsAll ? scope.Steps : own.Steps,
            Branches = own.Branches.Count > 0 ? own.Branches : scope.Branches,
        };
        return InterventionFactory.Build(spec with { Scope = merged }) as ISparseIntervention
            ?? throw new VDiTLensException($"--sparsify: type '{spec.Type}' is not a sparsifier (use bottom_k, top_k, threshold, block_topk, sliding_tile or spatial_temporal)");
    }
}
