using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Attention pooled by groups of queries and keys: entry [i, j] is the mean over queries of group i of the
/// attention mass on keys of group j. With <see cref="RowNormalised"/>, each query's mass over the pooled keys is
/// renormalised first, so rows sum to 1 even when some keys (text in joint attention) are not pooled.
/// Result <c>&lt;site&gt;.&lt;name&gt;</c>: [B, H, Gq, Gk].
/// </summary>
public sealed class PooledMap(string name, TokenGrouping grouping, bool rowNormalised) : IAttentionStatistic
{
    private readonly RunningMean _mean = new();
    private readonly Dictionary<ProbeGroup, CallState> _calls = new();

    public string Name { get; } = name;
    public TokenGrouping Grouping { get; } = grouping;
    public bool RowNormalised { get; } = rowNormalised;

    /// <summary>frame × frame map over video tokens (rows sum to 1).</summary>
    public static PooledMap Frames() => new("frame_map", new FrameGrouping(), true);

    /// <summary>(frame, tile) × (frame, tile) map over video tokens (rows sum to 1).</summary>
    public static PooledMap Tiles(int tileSize) => new($"tile_map", new TileGrouping(tileSize), true);

    /// <summary>[text, video] × [text, video] mass (not renormalised: rows sum to 1 over both modalities).</summary>
    public static PooledMap Modalities() => new("modality_map", new ModalityGrouping(), false);

    public bool AppliesTo(AttentionCall call) =>
        Grouping.Assign(call.QueryLayout) is not null && Grouping.Assign(call.KeyLayout) is not null;

    public void BeginCall(AttentionCall call, ProbeGroup key, long batch, long heads)
    {
        var (qGroups, qCount) = Grouping.Assign(call.QueryLayout)!.Value;
        var (kGroups, kCount) = Grouping.Assign(call.KeyLayout)!.Value;
        _calls[key] = new CallState(qGroups, qCount, kGroups, kCount, batch, heads);
    }

    public void Accumulate(AttentionCall call, ProbeGroup key, Tensor rows, Tensor p)
    {
        var s = _calls[key];
        using var scope = torch.NewDisposeScope();
        s.KeyPool ??= TokenGrouping.OneHot(s.KeyGroups, s.KeyCount, p.dtype, p.device).DetachFromDisposeScope();
        var rowIds = rows.cpu().data<long>().ToArray();
        var keep = rowIds.Select((r, i) => (r, i)).Where(x => s.QueryGroups[x.r] >= 0).ToArray();
        if (keep.Length == 0) return;
        var local = torch.tensor(keep.Select(x => (long)x.i).ToArray(), device: p.device);
        var groups = torch.tensor(keep.Select(x => s.QueryGroups[x.r]).ToArray(), device: p.device);
        var pooled = torch.matmul(p.index_select(2, local), s.KeyPool); // [B, H, rows, Gk]
        if (RowNormalised)
        {
            var total = pooled.sum(-1, keepdim: true);
            pooled = pooled / torch.where(total > 0, total, torch.ones_like(total));
        }
        s.Sum ??= torch.zeros(new[] { s.Batch, s.Heads, s.QueryCount, s.KeyCount }, dtype: p.dtype, device: p.device).DetachFromDisposeScope();
        s.Sum.index_add_(2, groups, pooled, 1.0);
        foreach (var g in keep) s.Counts[s.QueryGroups[g.r]]++;
    }

    public void EndCall(AttentionCall call, ProbeGroup key)
    {
        var s = _calls[key];
        _calls.Remove(key);
        if (s.Sum is null) return;
        using var scope = torch.NewDisposeScope();
        var counts = torch.tensor(s.Counts.Select(c => (double)Math.Max(c, 1)).ToArray(), dtype: s.Sum.dtype, device: s.Sum.device);
        _mean.Add(key, s.Sum / counts.view(1, 1, -1, 1));
        s.Sum.Dispose();
        s.KeyPool?.Dispose();
    }

    public IEnumerable<ProbeResult> Results() => _mean.Means(Name);

    public void Dispose() => _mean.Dispose();

    private sealed class CallState(long[] qGroups, int qCount, long[] kGroups, int kCount, long batch, long heads)
    {
        public long[] QueryGroups { get; } = qGroups;
        public int QueryCount { get; } = qCount;
        public long[] KeyGroups { get; } = kGroups;
        public int KeyCount { get; } = kCount;
        public long Batch { get; } = batch;
        public long Heads { get; } = heads;
        public long[] Counts { get; } = new long[qCount];
        public Tensor? Sum { get; set; }
        public Tensor? KeyPool { get; set; }
    }
}
