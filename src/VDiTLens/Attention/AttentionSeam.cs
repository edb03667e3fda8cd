using static TorchSharp.torch;

namespace VDiTLens.Attention;

/// <summary>
/// The one place every attention call of every model goes through. With nothing attached it is a direct call
/// of scaled_dot_product_attention. Interventions run in the order attached (the first is outermost) and change
/// the attention only through what they pass to <c>next</c> (the call's scale, mask and key selections, q, k, v);
/// the chain always ends in one terminal step, which computes the attention the call describes and shows it to
/// every accepting probe. An intervention that returns without calling <c>next</c> is an error.
/// </summary>
public sealed class AttentionSeam
{
    private readonly List<IAttentionProbe> _probes = new();
    private readonly List<IAttentionIntervention> _interventions = new();
    private long _terminalCalls;

    public AttentionRunState State { get; } = new();

    public IReadOnlyList<IAttentionProbe> Probes => _probes;
    public IReadOnlyList<IAttentionIntervention> Interventions => _interventions;

    /// <summary>The innermost computation for calls without key selections.</summary>
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

    public IDisposable Observe(AttentionSelector selector, AttentionObserver observe) => Attach(new FunctionProbe(selector, observe));

    public IDisposable Intercept(AttentionSelector selector, AttentionInterceptor intercept) => Attach(new FunctionIntervention(selector, intercept));

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
        long terminal = _terminalCalls;
        var output = Chain(0)(call, q, k, v);
        if (_terminalCalls == terminal)
            throw new VDiTLensException($"an intervention at site {site.Name} returned without calling next, so no probe saw the call; " +
                                        "express the change through the call passed to next (Scale, Mask, Keys) or through q, k, v");
        return output;
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
        _terminalCalls++;
        var output = call.Keys.Count == 0 ? Kernel(call, q, k, v) : AppliedAttention.Compute(call, q, k, v, Kernel);
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
