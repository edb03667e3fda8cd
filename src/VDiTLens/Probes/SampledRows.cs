using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// The complete attention rows of chosen query positions (default: the centre patch of each frame), averaged over
/// accepted calls. Results: <c>&lt;site&gt;.rows</c> [B, H, queries, Lk], and when keys are video,
/// <c>&lt;site&gt;.rows_grid</c> [B, H, queries, F, H', W'] (the video keys' part on the grid), plus
/// <c>&lt;site&gt;.row_queries</c> (the query positions).
/// </summary>
public sealed class SampledRows(ProbeFilter? filter = null, IReadOnlyList<long>? queries = null, ProbeGrouping grouping = ProbeGrouping.Site) : IAttentionProbe
{
    private readonly RunningMean _rows = new(), _grids = new();
    private readonly Dictionary<string, long[]> _queries = new();

    public ProbeFilter Filter { get; } = filter ?? ProbeFilter.All;

    public bool Accepts(AttentionCall call) => Filter.Accepts(call);

    /// <summary>The centre patch of each frame of the query layout's video segment.</summary>
    public static long[] FrameCentres(TokenLayout layout)
    {
        if (layout.VideoSegment is not { Grid: { } g } video) return new[] { 0L };
        long hw = (long)g.Height * g.Width;
        return Enumerable.Range(0, g.Frames).Select(f => video.Start + f * hw + g.Height / 2 * g.Width + g.Width / 2).ToArray();
    }

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
        using var scope = torch.NewDisposeScope();
        var positions = (queries ?? FrameCentres(call.QueryLayout)).ToArray();
        if (positions.Any(p => p < 0 || p >= q.shape[2]))
            throw new VDiTLensException($"sampled query positions must lie in [0, {q.shape[2]}) for site {call.Site.Name}");
        string key = grouping.KeyOf(call);
        _queries[key] = positions;
        var index = torch.tensor(positions, device: q.device);
        var dtype = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var mask = call.Mask is { } m && m.dim() == 4 && m.shape[2] > 1 ? m.index_select(2, index) : call.Mask;
        var p = AttentionKernels.Probabilities(q.index_select(2, index).to(dtype), k.to(dtype), call.Scale,
            mask is null || mask.dtype == ScalarType.Bool ? mask : mask.to(dtype)).nan_to_num(0.0);
        _rows.Add(key, p);
        if (call.KeyLayout.VideoSegment is { Grid: { } g } video)
            _grids.Add(key, p.narrow(3, video.Start, video.Length).reshape(p.shape[0], p.shape[1], p.shape[2], g.Frames, g.Height, g.Width));
    }

    public IEnumerable<KeyValuePair<string, Tensor>> Results() =>
        _rows.Means("rows").Concat(_grids.Means("rows_grid"))
            .Concat(_queries.Select(kv => new KeyValuePair<string, Tensor>(kv.Key + ".row_queries", torch.tensor(kv.Value))));
}
