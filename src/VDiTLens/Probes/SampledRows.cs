using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// The complete attention rows of chosen query positions (default: the centre patch of each frame), averaged over
/// accepted calls. Results: <c>&lt;site&gt;.rows</c> [B, H, queries, Lk], and when keys are video,
/// <c>&lt;site&gt;.rows_grid</c> [B, H, queries, F, H', W'] (the video keys' part on the grid), plus
/// <c>&lt;site&gt;.row_queries</c> (the query positions). The positions are <paramref name="queries"/>, else those
/// <paramref name="choose"/> picks from each call's query layout, else <see cref="FrameCentres"/>.
/// </summary>
public sealed class SampledRows(AttentionSelector? filter = null, IReadOnlyList<long>? queries = null, ProbeGrouping grouping = ProbeGrouping.Site,
    Func<TokenLayout, long[]>? choose = null) : IAttentionProbe, IDisposable
{
    private readonly RunningMean _rows = new(), _grids = new();
    private readonly Dictionary<ProbeGroup, long[]> _queries = new();

    public AttentionSelector Filter { get; } = filter ?? AttentionSelector.All;

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
        var positions = (queries ?? choose?.Invoke(call.QueryLayout) ?? FrameCentres(call.QueryLayout)).ToArray();
        if (positions.Any(p => p < 0 || p >= q.shape[2]))
            throw new VDiTLensException($"sampled query positions must lie in [0, {q.shape[2]}) for site {call.Site.Name}");
        var index = torch.tensor(positions, device: q.device);
        var dtype = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        foreach (var (key, rows) in grouping.GroupsOf(call, Filter, q.shape[0]))
        {
            _queries[key] = positions;
            var p = AppliedAttention.Logits(call, q, k, index, rows, Filter.HeadSubset(call, q.shape[1]), dtype).softmax(-1).nan_to_num(0.0);
            _rows.Add(key, p);
            if (call.KeyLayout.VideoSegment is { Grid: { } g } video)
                _grids.Add(key, p.narrow(3, video.Start, video.Length).reshape(p.shape[0], p.shape[1], p.shape[2], g.Frames, g.Height, g.Width));
        }
    }

    public ProbeResults Results() => new(_rows.Means("rows").Concat(_grids.Means("rows_grid"))
        .Concat(_queries.Select(kv => new ProbeResult(new ProbeKey(kv.Key, "row_queries"), torch.tensor(kv.Value), 1))).ToList());

    public void Dispose()
    {
        _rows.Dispose();
        _grids.Dispose();
    }
}
