using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Interventions;

public enum SinkAblationMode
{
    /// <summary>The keys get -inf logits; the softmax renormalises over the rest.</summary>
    Mask,
    /// <summary>The keys keep their attention weight but their values are zero.</summary>
    ZeroValues,
}

/// <summary>Removes chosen key positions (sinks) from the attention of the scoped rows and heads, by masking or by zeroing their values.</summary>
public sealed class SinkAblation(SinkPositions positions, SinkAblationMode mode, AttentionSelector? scope = null) : IAttentionIntervention
{
    public SinkPositions Positions { get; } = positions;
    public SinkAblationMode Mode { get; } = mode;
    public AttentionSelector Scope { get; } = scope ?? AttentionSelector.All;

    public bool Accepts(AttentionCall call) => Scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        long lk = k.shape[2];
        var sinks = Positions.For(call, lk);
        if (sinks.Count == 0) return next(call, q, k, v);
        using var scope = torch.NewDisposeScope();
        // [B or 1, H, 1, Lk]: 1 on scoped rows and heads at sink keys
        var isSink = torch.zeros(lk, dtype: q.dtype, device: q.device).index_fill_(0, torch.tensor(sinks.ToArray(), device: q.device), 1.0);
        var hit = (Scope.PerRowHead(call, q.shape[0], q.shape[1], _ => 1.0, 0.0, q.dtype, q.device) * isSink.view(1, 1, 1, lk)) > 0;
        Tensor result;
        if (Mode == SinkAblationMode.ZeroValues)
            result = next(call, q, k, v.masked_fill(hit.transpose(-2, -1), 0.0));
        else
            result = next(call with { Mask = Combine(call.Mask, hit) }, q, k, v);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The call's mask with the dropped keys removed (bool: false; additive: -inf).</summary>
    private static Tensor Combine(Tensor? mask, Tensor drop) => mask switch
    {
        null => drop.logical_not(),
        { dtype: ScalarType.Bool } => mask.logical_and(drop.logical_not()),
        _ => torch.where(drop, torch.tensor(double.NegativeInfinity, dtype: mask.dtype, device: mask.device), mask),
    };
}
