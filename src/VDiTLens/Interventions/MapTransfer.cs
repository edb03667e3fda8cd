using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Interventions;

/// <summary>
/// Attention-map transfer with source and target run in lockstep in one batch: for each pair, the target batch row
/// takes q and k (and a per-sample mask) from the source batch row (scoped heads only), so the target attends with the source's map
/// softmax(q_src·k_srcᵀ) over its own values, at full kernel speed and without storing any map. With branches in the
/// scope, only pairs whose target row is in a scoped branch are transferred.
/// </summary>
public sealed class MapTransfer : IAttentionIntervention
{
    public IReadOnlyList<(long Target, long Source)> Pairs { get; }
    public AttentionSelector Scope { get; }

    public MapTransfer(IReadOnlyList<(long Target, long Source)> pairs, AttentionSelector? scope = null)
    {
        if (pairs.Count == 0) throw new VDiTLensException("map_transfer needs at least one [target, source] pair in 'pairs'");
        if (pairs.Select(p => p.Target).Distinct().Count() != pairs.Count)
            throw new VDiTLensException("map_transfer 'pairs' names a target batch index twice; each target takes one source");
        Pairs = pairs.ToArray();
        Scope = scope ?? AttentionSelector.All;
    }

    public bool Accepts(AttentionCall call) => Scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        long batch = q.shape[0];
        foreach (var (t, s) in Pairs)
            if (t < 0 || t >= batch || s < 0 || s >= batch)
                throw new VDiTLensException($"map_transfer pair [{t}, {s}] is outside the batch of {batch} at site {call.Site.Name}; fix 'pairs'");
        var targets = Scope.RowIndices(call, batch);
        var pairs = targets is null ? Pairs : Pairs.Where(p => targets.Contains(p.Target)).ToArray();
        if (pairs.Count == 0) return next(call, q, k, v);
        using var scope = torch.NewDisposeScope();
        var heads = torch.tensor(Scope.HeadIndices(call, q.shape[1]), device: q.device);
        // a per-sample mask (text padding) follows the source too, so the target gets exactly the source's map
        if (call.Mask is { } m && m.dim() == 4 && m.shape[0] > 1)
        {
            var perHead = m.shape[1] > 1 ? m : m.expand(m.shape[0], q.shape[1], m.shape[2], m.shape[3]);
            call = call with { Mask = Transfer(perHead, heads, pairs) };
        }
        return next(call, Transfer(q, heads, pairs), Transfer(k, heads, pairs), v).MoveToOuterDisposeScope();
    }

    private static Tensor Transfer(Tensor x, Tensor heads, IReadOnlyList<(long Target, long Source)> pairs)
    {
        var result = x.clone();
        foreach (var (t, s) in pairs)
            result[t].index_copy_(0, heads, x[s].index_select(0, heads));
        return result;
    }
}
