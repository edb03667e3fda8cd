using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Interventions;

/// <summary>
/// Logit temperature: softmax(q·kᵀ·scale / τ). With all rows and heads and one τ the call's scale is divided;
/// otherwise q of each scoped head of the scoped rows is divided by its τ (one τ for all scoped heads, or one per
/// head of <c>Scope.Heads</c> in order) and the other rows and heads are unchanged.
/// </summary>
public sealed class Temperature : IAttentionIntervention
{
    public AttentionSelector Scope { get; }
    public IReadOnlyList<double> Taus { get; }

    public Temperature(double tau, AttentionSelector? scope = null) : this(new[] { tau }, scope) { }

    public Temperature(IReadOnlyList<double> taus, AttentionSelector? scope = null)
    {
        Scope = scope ?? AttentionSelector.All;
        if (taus.Count == 0 || taus.Any(t => !(t > 0) || double.IsInfinity(t)))
            throw new VDiTLensException($"temperature 'tau' must be positive and finite (got [{string.Join(", ", taus)}])");
        if (taus.Count > 1 && taus.Count != Scope.Heads.Count)
            throw new VDiTLensException($"temperature has {taus.Count} 'tau' values but {Scope.Heads.Count} 'heads'; give one tau, or one per listed head");
        Taus = taus.ToArray();
    }

    public bool Accepts(AttentionCall call) => Scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        if (Scope.AllHeads && Taus.Count == 1 && Scope.RowIndices(call, q.shape[0]) is null)
            return next(call with { Scale = call.Scale / Taus[0] }, q, k, v);
        using var scope = torch.NewDisposeScope();
        var factor = Scope.PerRowHead(call, q.shape[0], q.shape[1], i => 1.0 / Taus[Taus.Count == 1 ? 0 : i], 1.0, q.dtype, q.device);
        return next(call, q * factor, k, v).MoveToOuterDisposeScope();
    }
}
