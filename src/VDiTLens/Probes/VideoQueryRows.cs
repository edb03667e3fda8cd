using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Feeds another statistic only the video query rows of each call (in joint attention the text queries are left
/// out; in self- and cross-attention every query is video, so nothing changes; a call without video queries passes
/// all its rows). Also keeps, per result key, which keys were valid (not padding) in the first batch row, so
/// statistics can count valid keys only.
/// </summary>
public sealed class VideoQueryRows(IAttentionStatistic inner) : IAttentionStatistic
{
    private readonly Dictionary<ProbeGroup, bool[]> _validKeys = new();

    public string Name => inner.Name;
    public IAttentionStatistic Inner => inner;

    /// <summary>Per result group: true where the key is real; absent when every key is.</summary>
    public IReadOnlyDictionary<ProbeGroup, bool[]> ValidKeys => _validKeys;

    public bool AppliesTo(AttentionCall call) => inner.AppliesTo(call);

    public void BeginCall(AttentionCall call, ProbeGroup key, long batch, long heads)
    {
        if (call.KeyLayout.Valid is { } valid)
            _validKeys[key] = valid[0].cpu().to(ScalarType.Bool).data<bool>().ToArray();
        inner.BeginCall(call, key, batch, heads);
    }

    public void Accumulate(AttentionCall call, ProbeGroup key, Tensor rows, Tensor p)
    {
        if (call.QueryLayout.VideoSegment is not { } video) { inner.Accumulate(call, key, rows, p); return; }
        using var scope = torch.NewDisposeScope();
        var keep = rows.ge(video.Start).logical_and(rows.lt(video.End));
        long kept = keep.sum().item<long>();
        if (kept == 0) return;
        if (kept == rows.shape[0]) { inner.Accumulate(call, key, rows, p); return; }
        var index = keep.nonzero().squeeze(-1);
        inner.Accumulate(call, key, rows.index_select(0, index), p.index_select(2, index.to(p.device)));
    }

    public void EndCall(AttentionCall call, ProbeGroup key) => inner.EndCall(call, key);

    public IEnumerable<ProbeResult> Results() => inner.Results();

    public void Dispose() => inner.Dispose();
}
