using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Captures q, k, v (as the kernel saw them, after norms and rotary) and the attention output at the accepted
/// calls, on the CPU. Results: <c>&lt;key&gt;.q|k|v|out</c> [B, H, L, D]; a later call of the same key replaces
/// an earlier one, so group by step to keep every step.
/// </summary>
public sealed class QkvCapture(ProbeFilter? filter = null, ProbeGrouping grouping = ProbeGrouping.Site) : IAttentionProbe
{
    private readonly Dictionary<string, Tensor> _captured = new();

    public ProbeFilter Filter { get; } = filter ?? ProbeFilter.All;

    public bool Accepts(AttentionCall call) => Filter.Accepts(call);

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
        string key = grouping.KeyOf(call);
        foreach (var (name, t) in new[] { ("q", q), ("k", k), ("v", v), ("out", output) })
        {
            if (_captured.Remove($"{key}.{name}", out var old)) old.Dispose();
            _captured[$"{key}.{name}"] = t.detach().cpu().clone().DetachFromDisposeScope();
        }
    }

    public IEnumerable<KeyValuePair<string, Tensor>> Results() => _captured;
}
