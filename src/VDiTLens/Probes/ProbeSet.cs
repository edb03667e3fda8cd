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
    public ProbeFilter Filter { get; init; } = ProbeFilter.All;
    public ProbeGrouping Grouping { get; init; } = ProbeGrouping.Site;
    public int TileSize { get; init; } = 4;
    public long MemoryBudgetBytes { get; init; } = 256L << 20;
    public int QueryStride { get; init; } = 1;
    public int CoverageStride { get; init; } = 1;
    /// <summary>
    /// Compute frame/modality maps, received mass and entropy with <see cref="FusedAttentionSummary"/> (two extra
    /// attention-kernel passes per call) and coverage with <see cref="TopKCoverage"/> wherever the mask allows; the
    /// blockwise probe does the rest.
    /// </summary>
    public bool Fused { get; init; } = true;

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

/// <summary>The standard probes attached to one seam together; results collected in one dictionary.</summary>
public sealed class ProbeSet : IDisposable
{
    private readonly List<IDisposable> _attachments = new();

    public AttentionMapProbe? Maps { get; }
    public TopKCoverage? Coverage { get; }
    public FusedAttentionSummary? Summary { get; }
    public ReceivedMass? Mass { get; private set; }
    private readonly AttentionMapProbe? _fallback;
    public SampledRows? Rows { get; }
    public QkvCapture? Qkv { get; }
    public ProbeOptions Options { get; }

    public ProbeSet(AttentionSeam seam, ProbeOptions options)
    {
        Options = options;
        var p = options.Probes;
        bool fusable = p.Contains("frame") || p.Contains("modality") || p.Contains("mass") || p.Contains("entropy");
        if (options.Fused && fusable)
        {
            Summary = new FusedAttentionSummary(options.Filter, options.Grouping);
            _attachments.Add(seam.Attach(Summary));
            if (p.Contains("entropy"))
            {
                Coverage = new TopKCoverage(options.Filter, options.Grouping, options.MemoryBudgetBytes, options.CoverageStride)
                    { Skip = c => !Summary.Accepts(c) };
                _attachments.Add(seam.Attach(Coverage));
            }
        }
        // Frame/modality maps, received mass and entropy come from the fused probe where it accepts a call; the
        // blockwise probe computes them for everything else (all calls without fusion, query-dependent masks with it).
        var core = CoreStatistics(p, options);
        var tiles = p.Contains("tile") ? new List<IAttentionStatistic> { PooledMap.Tiles(options.TileSize) } : new List<IAttentionStatistic>();
        var blockwise = Summary is null ? core.Concat(tiles).ToList() : tiles;
        if (blockwise.Count > 0)
        {
            Maps = new AttentionMapProbe(blockwise, options.Filter, options.Grouping, options.MemoryBudgetBytes, options.QueryStride);
            _attachments.Add(seam.Attach(Maps));
        }
        if (Summary is not null && core.Count > 0)
        {
            _fallback = new AttentionMapProbe(core, options.Filter, options.Grouping, options.MemoryBudgetBytes, options.QueryStride)
                { Skip = c => Summary.Accepts(c) };
            _attachments.Add(seam.Attach(_fallback));
        }
        if (p.Contains("rows")) _attachments.Add(seam.Attach(Rows = new SampledRows(options.Filter, grouping: options.Grouping)));
        if (p.Contains("qkv")) _attachments.Add(seam.Attach(Qkv = new QkvCapture(options.Filter, options.Grouping)));
    }

    /// <summary>Frame/modality maps, received mass and entropy with coverage, as requested, for the blockwise probe.</summary>
    private List<IAttentionStatistic> CoreStatistics(IReadOnlyList<string> p, ProbeOptions options)
    {
        var list = new List<IAttentionStatistic>();
        if (p.Contains("mass")) list.Add(Mass = new ReceivedMass());
        if (p.Contains("frame")) list.Add(PooledMap.Frames());
        if (p.Contains("modality")) list.Add(PooledMap.Modalities());
        if (p.Contains("entropy")) list.Add(new EntropyCoverage(options.CoverageStride));
        return list;
    }

    /// <summary>The key layout each result key was measured on (to locate top receivers).</summary>
    public IReadOnlyDictionary<string, TokenLayout> KeyLayouts =>
        (Summary?.Layouts ?? new Dictionary<string, TokenLayout>()).Concat(Mass?.Layouts ?? new Dictionary<string, TokenLayout>())
            .GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.First().Value);

    public Dictionary<string, Tensor> Results()
    {
        var all = new Dictionary<string, Tensor>();
        var sources = new[] { Summary?.Results(), Coverage?.Results(), Maps?.Results(), _fallback?.Results(), Rows?.Results(), Qkv?.Results() };
        foreach (var (k, v) in sources.SelectMany(s => s ?? []))
            all[k] = v;
        return all;
    }

    public void Dispose()
    {
        foreach (var a in _attachments) a.Dispose();
        _attachments.Clear();
    }
}
