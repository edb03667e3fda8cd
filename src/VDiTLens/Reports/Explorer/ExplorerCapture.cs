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
        var filter = new ProbeFilter { Sites = options.Sites.Count > 0 ? options.Sites : new[] { "self" }, Steps = Steps };
        _maps = new ProbeSet(seam, new ProbeOptions
        {
            Probes = new[] { "frame", "tile", "modality", "mass" }, Filter = filter, Grouping = ProbeGrouping.Step, TileSize = options.TileSize,
        });
        _rows = new SampledRows(filter, Queries, ProbeGrouping.Step);
        _rowsAttachment = seam.Attach(_rows);
    }

    /// <summary>Every result under its probe key (<c>&lt;site&gt;.step{n}.frame_map</c>, …, <c>.rows_grid</c>).</summary>
    public Dictionary<string, Tensor> Results()
    {
        var all = _maps.Results();
        foreach (var (k, v) in _rows.Results()) all[k] = v;
        return all;
    }

    public void Dispose()
    {
        _maps.Dispose();
        _rowsAttachment.Dispose();
    }
}
