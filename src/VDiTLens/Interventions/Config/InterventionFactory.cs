using VDiTLens.Attention;
using VDiTLens.Attention.BlockSparse;
using VDiTLens.Interventions.Sparsity;

namespace VDiTLens.Interventions.Config;

/// <summary>
/// Builds interventions from config entries. Every type takes the scope fields (sites, heads, steps, branches).
/// Sparsifiers (run by <see cref="SparseAttention"/>) also take <c>keep_sinks</c> [positions] and <c>memory_mb</c>:
/// <list type="bullet">
/// <item><c>bottom_k</c>: <c>sparsity</c> ∈ [0, 1)</item>
/// <item><c>bottom_k_head</c>: <c>sparsity</c> ∈ [0, 1), one threshold per head over the whole map</item>
/// <item><c>random_k</c>: <c>sparsity</c> ∈ [0, 1), the same count per row as bottom_k but random keys; <c>seed</c> (default 0)</item>
/// <item><c>top_k</c>: <c>k</c> ≥ 1</item>
/// <item><c>threshold</c>: <c>threshold</c> ∈ [0, 1]</item>
/// <item><c>block_topk</c>: <c>sparsity</c> or <c>keep_blocks</c>, <c>block_size</c> (key blocks, default 64),
/// <c>query_block_size</c> (query tiles, default the block size), <c>gather_memory_mb</c> (default 4096); runs through
/// gathered tiles where it can (<see cref="BlockTopKAttention"/>)</item>
/// <item><c>sliding_tile</c>: <c>tile</c> and <c>window</c>, each [frames, height, width]</item>
/// <item><c>spatial_temporal</c>: <c>samples</c> (default 32), <c>frame_radius</c> (default 0)</item>
/// </list>
/// Others: <c>temperature</c> (<c>tau</c>: a number, or one per listed head), <c>sink_ablation</c>
/// (<c>positions</c> and/or <c>positions_by_site</c> {site: [..]}, <c>mode</c> "mask" | "zero_values"),
/// <c>head_ablation</c> (needs <c>heads</c>), <c>map_transfer</c> (<c>pairs</c> [[target, source], …]), <c>text_keep</c>
/// (<c>keep</c>: text-token indices kept, default [0]; <c>mode</c> "mask" | "zero_values").
/// </summary>
public static class InterventionFactory
{
    public static readonly string[] Types =
        { "bottom_k", "bottom_k_head", "random_k", "top_k", "threshold", "block_topk", "sliding_tile", "spatial_temporal", "temperature", "sink_ablation", "head_ablation", "map_transfer", "text_keep" };

    public static IReadOnlyList<IAttentionIntervention> FromJson(string json) => InterventionConfig.Parse(json).Select(Build).ToArray();

    public static IReadOnlyList<IAttentionIntervention> FromFile(string path) => InterventionConfig.Load(path).Select(Build).ToArray();

    public static IAttentionIntervention Build(InterventionSpec spec)
    {
        var f = spec.Fields;
        IAttentionIntervention result;
        try
        {
            result = spec.Type switch
            {
                "temperature" => new Temperature(f.NumberOrNumbers("tau") ?? throw f.Error("tau", "is required"), spec.Scope),
                "sink_ablation" => new SinkAblation(SinkPositionsOf(f), ModeOf(f), spec.Scope),
                "head_ablation" => new HeadAblation(spec.Scope),
                "map_transfer" => new MapTransfer(f.Pairs("pairs") ?? throw f.Error("pairs", "is required"), spec.Scope),
                "text_keep" => new TextKeep(f.Longs("keep") ?? new long[] { 0 }, TextKeepModeOf(f), spec.Scope),
                _ => Sparse(spec),
            };
        }
        catch (VDiTLensException e) when (!e.Message.StartsWith(f.Where, StringComparison.Ordinal))
        {
            throw new VDiTLensException($"{f.Where}: {e.Message}", e);
        }
        f.EnsureAllUsed();
        return result;
    }

    private static BlockTopKAttention BlockTopK(InterventionSpec spec, long[]? sinks, double memoryMb)
    {
        var f = spec.Fields;
        int block = Int(f, "block_size", 64);
        var selection = new BlockTopKSelection(block, Int(f, "query_block_size", block), f.Double("sparsity"), f.Long("keep_blocks"));
        double gather = f.Double("gather_memory_mb") ?? 4096;
        if (!(gather > 0)) throw f.Error("gather_memory_mb", "must be positive");
        return new BlockTopKAttention(selection, spec.Scope, sinks, (long)(gather * (1 << 20)), (long)(memoryMb * (1 << 20)));
    }

    private static ISparseIntervention Sparse(InterventionSpec spec)
    {
        var f = spec.Fields;
        var sinks = f.Longs("keep_sinks");
        double memory = f.Double("memory_mb") ?? 256;
        if (!(memory > 0)) throw f.Error("memory_mb", "must be positive");
        if (spec.Type == "block_topk") return BlockTopK(spec, sinks, memory);
        ISparsifier sparsifier = spec.Type switch
        {
            "bottom_k" => new BottomKSparsifier(f.RequiredDouble("sparsity"), sinks),
            "bottom_k_head" => new BottomKPerHeadSparsifier(f.RequiredDouble("sparsity"), sinks),
            "random_k" => new RandomKeySparsifier(f.RequiredDouble("sparsity"), f.Long("seed") ?? 0, sinks),
            "top_k" => new TopKSparsifier(f.Long("k") ?? throw f.Error("k", "is required"), sinks),
            "threshold" => new ThresholdSparsifier(f.RequiredDouble("threshold"), sinks),
            "sliding_tile" => new SlidingTileSparsifier(f.Triple("tile") ?? throw f.Error("tile", "is required"),
                f.Triple("window") ?? throw f.Error("window", "is required"), sinks),
            "spatial_temporal" => new SpatialTemporalSparsifier(Int(f, "samples", 32), Int(f, "frame_radius", 0), sinks),
            _ => throw f.Error("type", $"is '{spec.Type}', not one of {string.Join(", ", Types)}"),
        };
        return new SparseAttention(sparsifier, spec.Scope, (long)(memory * (1 << 20)));
    }

    private static int Int(SpecFields f, string name, int fallback) =>
        f.Long(name) is not { } v ? fallback : v is >= int.MinValue and <= int.MaxValue ? (int)v : throw f.Error(name, "is out of range");

    private static SinkPositions SinkPositionsOf(SpecFields f)
    {
        var global = f.Longs("positions");
        var bySite = f.ListsBySite("positions_by_site");
        if (global is null && bySite is null) throw f.Error("positions", "is required (or give 'positions_by_site')");
        return new SinkPositions
        {
            Global = global ?? Array.Empty<long>(),
            BySite = bySite ?? new Dictionary<string, IReadOnlyList<long>>(),
        };
    }

    private static SinkAblationMode ModeOf(SpecFields f) => f.String("mode") switch
    {
        null or "mask" => SinkAblationMode.Mask,
        "zero_values" => SinkAblationMode.ZeroValues,
        var other => throw f.Error("mode", $"is '{other}'; use \"mask\" or \"zero_values\""),
    };

    private static TextKeepMode TextKeepModeOf(SpecFields f) => f.String("mode") switch
    {
        null or "mask" => TextKeepMode.Mask,
        "zero_values" => TextKeepMode.ZeroValues,
        var other => throw f.Error("mode", $"is '{other}'; use \"mask\" or \"zero_values\""),
    };
}
