using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Interventions;

/// <summary>Zeroes the attention output of the scoped heads (<c>Scope.Heads</c> must name them).</summary>
public sealed class HeadAblation : IAttentionIntervention
{
    public InterventionScope Scope { get; }

    public HeadAblation(InterventionScope scope)
    {
        if (scope.AllHeads) throw new VDiTLensException("head_ablation needs a 'heads' list (ablating every head would zero the whole attention)");
        Scope = scope;
    }

    public bool Accepts(AttentionCall call) => Scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        using var scope = torch.NewDisposeScope();
        var output = next(call, q, k, v);
        var heads = torch.tensor(Scope.HeadIndices(call, q.shape[1]), device: output.device);
        return output.index_fill(1, heads, 0.0).MoveToOuterDisposeScope();
    }
}
