using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Captures q, k, v (as the kernel saw them, after norms and rotary) and the attention output at the accepted
/// calls, on the CPU. Results: <c>&lt;key&gt;.q|k|v|out</c> [B, H, L, D]; a later call of the same key replaces
/// an earlier one, so group by step to keep every step.
/// </summary>
public sealed class QkvCapture(AttentionSelector? filter = null, ProbeGrouping grouping = ProbeGrouping.Site) : IAttentionProbe, IDisposable
{
    private readonly Dictionary<ProbeKey, Tensor> _captured = new();

    public AttentionSelector Filter { get; } = filter ?? AttentionSelector.All;

    public bool Accepts(AttentionCall call) => Filter.Accepts(call);

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
        var heads = Filter.HeadSubset(call, q.shape[1]);
        foreach (var (group, rows) in grouping.GroupsOf(call, Filter, q.shape[0]))
            foreach (var (name, t) in new[] { ("q", q), ("k", k), ("v", v), ("out", output) })
            {
                var key = new ProbeKey(group, name);
                if (_captured.Remove(key, out var old)) old.Dispose();
                using var selected = AppliedAttention.Narrow(t.detach(), rows, heads);
                _captured[key] = selected.cpu().clone().DetachFromDisposeScope();
            }
    }

    /// <summary>Copies of the captured tensors (the caller owns them).</summary>
    public ProbeResults Results() => new(_captured.Select(kv => new ProbeResult(kv.Key, kv.Value.clone(), 1)).ToList());

    public void Dispose()
    {
        foreach (var t in _captured.Values) t.Dispose();
        _captured.Clear();
    }
}
