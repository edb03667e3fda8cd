using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>Options of the standard probe set, as the CLI and the studies expose them.</summary>
public sealed record ProbeOptions
{
    public static readonly string[] AllProbes = { "frame", "tile", "modality", "mass", "entropy", "rows", "qkv" };

    /// <summary>Which probes: frame, tile, modality, mass, entropy, rows, qkv.</summary>
    public IReadOnlyList<string> Probes { get; init; } = new[] { "frame", "modality", "mass", "entropy" };
    public AttentionSelector Filter { get; init; } = AttentionSelector.All;
    public ProbeGrouping Grouping { get; init; } = ProbeGrouping.Site;
    public int TileSize { get; init; } = 4;
    public long MemoryBudgetBytes { get; init; } = 256L << 20;
    public int QueryStride { get; init; } = 1;
    public int CoverageStride { get; init; } = 1;
    /// <summary>
    /// Compute frame/modality maps, received mass and entropy with <see cref="FusedAttentionSummary"/> (two extra
    /// attention-kernel passes per call) and coverage with <see cref="TopKCoverage"/> wherever the call allows; the
    /// exact blockwise probe takes every other call.
    /// </summary>
    public bool Fused { get; init; } = true;
    /// <summary>Told once per reason when a result cannot be computed for some calls.</summary>
    public Action<string>? Warn { get; init; }

    public static IReadOnlyList<string> ParseProbes(string? list)
    {
        if (string.IsNullOrWhiteSpace(list)) return new ProbeOptions().Probes;
        var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 1 && names[0] == "all") return AllProbes;
        foreach (var n in names)
            if (!AllProbes.Contains(n))
                throw new VDiTLensException($"--probes: unknown probe '{n}' (use {string.Join(", ", AllProbes)} or all)");
        return names;
    }
}

/// <summary>
/// The standard probes attached to one seam together; results collected in one <see cref="ProbeResults"/>. Disposing
/// detaches them and frees what they hold.
/// </summary>
public sealed class ProbeSet : IDisposable
{
    private readonly List<IDisposable> _attachments = new();

    /// <summary>Blockwise probe of the statistics the fused probe does not compute (tile maps; everything without fusion).</summary>
    public AttentionMapProbe? Maps { get; }
    public FusedAttentionSummary? Summary { get; }
    public SampledRows? Rows { get; }
    public QkvCapture? Qkv { get; }
    public ProbeOptions Options { get; }
    private readonly ReceivedMass? _mass;

    public ProbeSet(AttentionSeam seam, ProbeOptions options)
    {
        Options = options;
        var p = options.Probes;
        bool fusable = p.Contains("frame") || p.Contains("modality") || p.Contains("mass") || p.Contains("entropy");
        // Frame/modality maps, received mass and entropy come from the fused probe where it can summarise a call; its
        // blockwise fallback computes them exactly for every other call (key selections, query-dependent masks).
        var core = CoreStatistics(p, options, out _mass);
        var tiles = p.Contains("tile") ? new List<IAttentionStatistic> { PooledMap.Tiles(options.TileSize) } : new List<IAttentionStatistic>();
        if (options.Fused && fusable)
        {
            Summary = new FusedAttentionSummary(options.Filter, options.Grouping)
            {
                Fallback = new AttentionMapProbe(core, options.Filter, options.Grouping, options.MemoryBudgetBytes, options.QueryStride),
                Companion = p.Contains("entropy") ? new TopKCoverage(options.Filter, options.Grouping, options.MemoryBudgetBytes, options.CoverageStride) : null,
                Warn = options.Warn,
            };
            _attachments.Add(seam.Attach(Summary));
        }
        var blockwise = Summary is null ? core.Concat(tiles).ToList() : tiles;
        if (blockwise.Count > 0)
        {
            Maps = new AttentionMapProbe(blockwise, options.Filter, options.Grouping, options.MemoryBudgetBytes, options.QueryStride);
            _attachments.Add(seam.Attach(Maps));
        }
        if (p.Contains("rows")) _attachments.Add(seam.Attach(Rows = new SampledRows(options.Filter, grouping: options.Grouping)));
        if (p.Contains("qkv")) _attachments.Add(seam.Attach(Qkv = new QkvCapture(options.Filter, options.Grouping)));
    }

    /// <summary>Frame/modality maps, received mass and entropy with coverage, as requested, for the blockwise probe.</summary>
    private static List<IAttentionStatistic> CoreStatistics(IReadOnlyList<string> p, ProbeOptions options, out ReceivedMass? mass)
    {
        var list = new List<IAttentionStatistic>();
        mass = null;
        if (p.Contains("mass")) list.Add(mass = new ReceivedMass());
        if (p.Contains("frame")) list.Add(PooledMap.Frames());
        if (p.Contains("modality")) list.Add(PooledMap.Modalities());
        if (p.Contains("entropy")) list.Add(new EntropyCoverage(options.CoverageStride));
        return list;
    }

    /// <summary>The key layout each result group was measured on (to locate top receivers).</summary>
    public IReadOnlyDictionary<ProbeGroup, TokenLayout> KeyLayouts =>
        (Summary?.Layouts ?? new Dictionary<ProbeGroup, TokenLayout>()).Concat(_mass?.Layouts ?? new Dictionary<ProbeGroup, TokenLayout>())
            .GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.First().Value);

    /// <summary>The results so far: new CPU tensors the caller owns (dispose the returned object).</summary>
    public ProbeResults Results() => ProbeResults.Merge(new[]
    {
        Summary?.Results(), (Summary?.Companion as TopKCoverage)?.Results(), Summary?.Fallback?.Results(), Maps?.Results(), Rows?.Results(), Qkv?.Results(),
    });

    public void Dispose()
    {
        foreach (var a in _attachments) a.Dispose();
        _attachments.Clear();
        Summary?.Dispose();
        Maps?.Dispose();
        Rows?.Dispose();
        Qkv?.Dispose();
    }
}
