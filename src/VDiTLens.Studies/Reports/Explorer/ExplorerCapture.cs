using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Reports.Explorer;

/// <summary>
/// The probes behind the explorer, attached to a seam for one run: frame, tile and modality maps and received mass
/// grouped by step (at the chosen steps only), and the attention rows of the query grid.
/// </summary>
public sealed class ExplorerCapture : IDisposable
{
    private readonly ProbeSet _maps;
    private readonly IDisposable _rowsAttachment;
    private readonly SampledRows _rows;

    public ExplorerOptions Options { get; }
    public IReadOnlyList<int> Steps { get; }
    public long[] Queries { get; }

    public ExplorerCapture(AttentionSeam seam, ExplorerOptions options, int totalSteps, TokenLayout queryLayout)
    {
        Options = options;
        Steps = options.ResolveSteps(totalSteps);
        Queries = options.QueryPositions(queryLayout);
        var filter = new AttentionSelector { Sites = options.Sites.Count > 0 ? options.Sites : new[] { "self" }, Steps = Steps.ToArray() };
        _maps = new ProbeSet(seam, new ProbeOptions
        {
            Probes = new[] { "frame", "tile", "modality", "mass" }, Filter = filter, Grouping = ProbeGrouping.Step | ProbeGrouping.Branch, TileSize = options.TileSize,
        });
        _rows = new SampledRows(filter, Queries, ProbeGrouping.Step | ProbeGrouping.Branch);
        _rowsAttachment = seam.Attach(_rows);
    }

    /// <summary>
    /// Every result under its printed key without the branch (<c>&lt;site&gt;.step{n}.frame_map</c>, …, <c>.rows_grid</c>),
    /// its rows the conditional prompts, then the unconditional ones (as one batched-guidance call holds them).
    /// </summary>
    public Dictionary<string, Tensor> Results()
    {
        using var maps = _maps.Results();
        using var rows = _rows.Results();
        var all = new Dictionary<string, Tensor>();
        foreach (var part in new[] { maps, rows })
            foreach (var same in part.GroupBy(kv => kv.Key with { Group = kv.Key.Group with { Branch = null } }))
            {
                var ordered = same.OrderBy(kv => kv.Key.Branch == "cond" ? 0 : 1).Select(kv => kv.Value).ToArray();
                all[same.Key.ToString()] = ordered.Length == 1 ? ordered[0].clone() : torch.cat(ordered, 0);
            }
        return all;
    }

    public void Dispose()
    {
        _maps.Dispose();
        _rowsAttachment.Dispose();
    }
}
