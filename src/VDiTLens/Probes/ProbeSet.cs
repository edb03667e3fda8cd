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
    public ReceivedMass? Mass { get; }
    public SampledRows? Rows { get; }
    public QkvCapture? Qkv { get; }
    public ProbeOptions Options { get; }

    public ProbeSet(AttentionSeam seam, ProbeOptions options)
    {
        Options = options;
        var stats = new List<IAttentionStatistic>();
        var p = options.Probes;
        if (p.Contains("mass")) stats.Add(Mass = new ReceivedMass());
        if (p.Contains("frame")) stats.Add(PooledMap.Frames());
        if (p.Contains("tile")) stats.Add(PooledMap.Tiles(options.TileSize));
        if (p.Contains("modality")) stats.Add(PooledMap.Modalities());
        if (p.Contains("entropy")) stats.Add(new EntropyCoverage(options.CoverageStride));
        if (stats.Count > 0)
        {
            Maps = new AttentionMapProbe(stats, options.Filter, options.Grouping, options.MemoryBudgetBytes, options.QueryStride);
            _attachments.Add(seam.Attach(Maps));
        }
        if (p.Contains("rows")) _attachments.Add(seam.Attach(Rows = new SampledRows(options.Filter, grouping: options.Grouping)));
        if (p.Contains("qkv")) _attachments.Add(seam.Attach(Qkv = new QkvCapture(options.Filter, options.Grouping)));
    }

    public Dictionary<string, Tensor> Results()
    {
        var all = new Dictionary<string, Tensor>();
        foreach (var (k, v) in (Maps?.Results() ?? []).Concat(Rows?.Results() ?? []).Concat(Qkv?.Results() ?? []))
            all[k] = v;
        return all;
    }

    public void Dispose()
    {
        foreach (var a in _attachments) a.Dispose();
        _attachments.Clear();
    }
}
