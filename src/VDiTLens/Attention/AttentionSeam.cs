using static TorchSharp.torch;

namespace VDiTLens.Attention;

/// <summary>
/// The one place every attention call of every model goes through. With nothing attached it is a direct call
/// of scaled_dot_product_attention. Interventions run in the order attached (the first is outermost); probes
/// see the inputs the kernel finally received and its output.
/// </summary>
public sealed class AttentionSeam
{
    private readonly List<IAttentionProbe> _probes = new();
    private readonly List<IAttentionIntervention> _interventions = new();

    public AttentionRunState State { get; } = new();

    public IReadOnlyList<IAttentionProbe> Probes => _probes;
    public IReadOnlyList<IAttentionIntervention> Interventions => _interventions;

    /// <summary>The innermost computation; replaceable (e.g. by a block-sparse kernel).</summary>
    public AttentionNext Kernel { get; set; } = DenseKernel;

    public static Tensor DenseKernel(AttentionCall call, Tensor q, Tensor k, Tensor v)
    {
        if (call.PrefixKeys is { } prefix && ReferenceEquals(prefix.Mask, call.Mask) && prefix.Count < k.shape[2])
        {
            using var kValid = k.narrow(2, 0, prefix.Count);
            using var vValid = v.narrow(2, 0, prefix.Count);
            return AttentionKernels.Sdpa(q, kValid, vValid, call.Scale);
        }
        if (call.PrefixKeys is { } all && ReferenceEquals(all.Mask, call.Mask))
            return AttentionKernels.Sdpa(q, k, v, call.Scale);
        return AttentionKernels.Sdpa(q, k, v, call.Scale, call.Mask);
    }

    public IDisposable Attach(IAttentionProbe probe)
    {
        _probes.Add(probe);
        return new Detacher(() => _probes.Remove(probe));
    }

    public IDisposable Attach(IAttentionIntervention intervention)
    {
        _interventions.Add(intervention);
        return new Detacher(() => _interventions.Remove(intervention));
    }

    public void Clear()
    {
        _probes.Clear();
        _interventions.Clear();
    }

    /// <summary>Attention of q [B,H,Lq,D] over k, v [B,H,Lk,D]; returns [B,H,Lq,D].</summary>
    public Tensor Attend(AttentionSite site, Tensor q, Tensor k, Tensor v, TokenLayout queryLayout, TokenLayout keyLayout,
        Tensor? mask = null, double? scale = null, PrefixKeyMask? prefixKeys = null)
    {
        var call = new AttentionCall(site, State, scale ?? AttentionKernels.DefaultScale(q), queryLayout, keyLayout, mask)
        {
            PrefixKeys = prefixKeys is not null && ReferenceEquals(prefixKeys.Mask, mask) ? prefixKeys : null,
        };
        if (_probes.Count == 0 && _interventions.Count == 0)
            return Kernel(call, q, k, v);
        return Chain(0)(call, q, k, v);
    }

    private AttentionNext Chain(int index)
    {
        if (index == _interventions.Count) return Observed;
        var intervention = _interventions[index];
        var next = Chain(index + 1);
        return (call, q, k, v) => intervention.Accepts(call) ? intervention.Invoke(call, q, k, v, next) : next(call, q, k, v);
    }

    private Tensor Observed(AttentionCall call, Tensor q, Tensor k, Tensor v)
    {
        var output = Kernel(call, q, k, v);
        foreach (var probe in _probes)
            if (probe.Accepts(call))
                probe.Observe(call, q, k, v, output);
        return output;
    }

    private sealed class Detacher(Action detach) : IDisposable
    {
        private Action? _detach = detach;
        public void Dispose()
        {
            _detach?.Invoke();
            _detach = null;
        }
    }
}
