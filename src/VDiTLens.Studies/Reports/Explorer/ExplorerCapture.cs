using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Reports.Explorer;

/// <summary>
/// The probes behind the explorer, attached to a seam for one run: frame, tile and modality maps and received mass
/// grouped by step (at the chosen steps only), the attention rows of the query grid (placed on each site's own query
/// layout, so joint attention's text offset is taken from the call), and where each site's video and text keys lie.
/// Of the selected sites, those whose queries and keys include video tokens are captured whole; at cross-attention
/// sites (video queries, text or image keys) only the query rows and the key validity are; the others (a text
/// encoder's or token refiner's self-attention has nothing to draw) are listed in <see cref="LeftOut"/>.
/// </summary>
public sealed class ExplorerCapture : IDisposable
{
    private const ProbeGrouping Grouping = ProbeGrouping.Step | ProbeGrouping.Branch;
    private readonly ProbeSet _maps;
    private readonly SampledRows _rows;
    private readonly ExplorerSiteRecorder _sites;
    private readonly IDisposable _gate;
    private readonly SortedSet<string> _leftOut = new(StringComparer.Ordinal);

    public ExplorerOptions Options { get; }
    public IReadOnlyList<int> Steps { get; }
    public int TotalSteps { get; }

    /// <summary>The captured sites in the order they first ran, with their key layout (known once the run has reached them).</summary>
    public IReadOnlyList<ExplorerSite> Sites => _sites.Sites;

    /// <summary>Selected sites that ran at a captured step without video queries or keys, so were not captured.</summary>
    public IReadOnlyCollection<string> LeftOut => _leftOut;

    public ExplorerCapture(AttentionSeam seam, ExplorerOptions options, int totalSteps)
    {
        Options = options;
        TotalSteps = totalSteps;
        Steps = options.ResolveSteps(totalSteps);
        if (options.Queries < 1) throw new VDiTLensException($"explorer queries per frame side must be at least 1 (got {options.Queries})");
        var filter = new AttentionSelector { Sites = options.SitePatterns, Steps = Steps.ToArray() };
        var video = new AttentionSeam(); // holds the probes; the gate below shows them the calls with video queries and keys
        _maps = new ProbeSet(video, new ProbeOptions
        {
            Probes = new[] { "frame", "tile", "modality", "mass" }, Filter = filter, Grouping = Grouping, TileSize = options.TileSize,
        });
        _sites = new ExplorerSiteRecorder(filter, Grouping, options);
        _rows = new SampledRows(filter, grouping: Grouping, choose: options.QueryPositions);
        video.Attach(_sites);
        video.Attach(_rows);
        var cross = new AttentionSeam();
        cross.Attach(_sites);
        cross.Attach(_rows);
        _gate = seam.Attach(new VideoGate(video, cross, filter, _leftOut));
    }

    /// <summary>
    /// Passes the calls that have video queries and keys to the probes of <paramref name="video"/>, cross-attention
    /// calls with video queries to those of <paramref name="cross"/>; notes the other selected sites.
    /// </summary>
    private sealed class VideoGate(AttentionSeam video, AttentionSeam cross, AttentionSelector filter, ISet<string> leftOut) : IAttentionProbe
    {
        public bool Accepts(AttentionCall call)
        {
            if (!filter.Accepts(call)) return false;
            if (call.QueryLayout.Grid is not null && (call.KeyLayout.Grid is not null || IsCross(call))) return true;
            leftOut.Add(call.Site.Name);
            return false;
        }

        public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
        {
            foreach (var probe in (IsCross(call) ? cross : video).Probes)
                if (probe.Accepts(call)) probe.Observe(call, q, k, v, output);
        }

        private static bool IsCross(AttentionCall call) => call.KeyLayout.Grid is null && call.Site.Kind == AttentionKind.Cross;
    }

    /// <summary>
    /// Every result under its printed key without the branch (<c>&lt;site&gt;.step{n}.frame_map</c>, …, <c>.rows_grid</c>
    /// [B, H, Q, F, H', W'], <c>.rows_text</c> [B, H, Q, text keys] at joint and cross sites, <c>.text_valid</c> [B, text keys]),
    /// its rows the conditional prompts, then the unconditional ones (as one batched-guidance call holds them).
    /// </summary>
    public Dictionary<string, Tensor> Results()
    {
        using var maps = _maps.Results();
        using var rows = _rows.Results();
        using var valid = _sites.Results();
        var all = new Dictionary<string, Tensor>();
        foreach (var part in new[] { maps, rows, valid })
            foreach (var same in part.GroupBy(kv => kv.Key with { Group = kv.Key.Group with { Branch = null } }))
            {
                if (same.Key.Statistic == "row_queries") continue; // the same positions in every group: Sites holds them
                var ordered = same.OrderBy(kv => kv.Key.Branch == "cond" ? 0 : 1).Select(kv => kv.Value).ToArray();
                if (same.Key.Statistic != "rows")
                    all[same.Key.ToString()] = ordered.Length == 1 ? ordered[0].clone() : torch.cat(ordered, 0);
                else if (Sites.FirstOrDefault(s => s.Name == same.Key.Site) is { TextKeys: > 0 } site)
                    all[$"{same.Key.Group}.rows_text"] = torch.cat(ordered.Select(t => t.narrow(3, site.TextKeyStart, site.TextKeys)).ToArray(), 0);
            }
        return all;
    }

    public void Dispose()
    {
        _gate.Dispose();
        _maps.Dispose();
        _rows.Dispose();
        _sites.Dispose();
    }
}
