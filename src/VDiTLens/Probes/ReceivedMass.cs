using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Attention received by each key, averaged over queries: the sink signal. Result <c>&lt;site&gt;.received_mass</c>
/// [B, H, Lk]; summed over keys it is 1 for each head.
/// </summary>
public sealed class ReceivedMass : IAttentionStatistic
{
    private readonly RunningMean _mean = new();
    private readonly Dictionary<ProbeGroup, (Tensor? Sum, long Rows)> _calls = new();
    private readonly Dictionary<ProbeGroup, TokenLayout> _layouts = new();

    public string Name => "received_mass";

    /// <summary>The key layout each result was measured on (to locate top receivers).</summary>
    public IReadOnlyDictionary<ProbeGroup, TokenLayout> Layouts => _layouts;

    public bool AppliesTo(AttentionCall call) => true;

    public void BeginCall(AttentionCall call, ProbeGroup key, long batch, long heads)
    {
        _calls[key] = (null, 0);
        _layouts[key] = call.KeyLayout;
    }

    public void Accumulate(AttentionCall call, ProbeGroup key, Tensor rows, Tensor p)
    {
        var (sum, count) = _calls[key];
        var blockSum = p.sum(2);
        if (sum is null) sum = blockSum.DetachFromDisposeScope();
        else
        {
            sum.add_(blockSum);
            blockSum.Dispose();
        }
        _calls[key] = (sum, count + p.shape[2]);
    }

    public void EndCall(AttentionCall call, ProbeGroup key)
    {
        var (sum, rows) = _calls[key];
        _calls.Remove(key);
        if (sum is null) return;
        using (var mean = sum / rows) _mean.Add(key, mean);
        sum.Dispose();
    }

    public IEnumerable<ProbeResult> Results() => _mean.Means(Name);

    public void Dispose() => _mean.Dispose();
}
