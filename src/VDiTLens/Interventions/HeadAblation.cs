using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Interventions;

/// <summary>Zeroes the attention output of the scoped heads (<c>Scope.Heads</c> must name them) in the scoped rows.</summary>
public sealed class HeadAblation : IAttentionIntervention
{
    public AttentionSelector Scope { get; }

    public HeadAblation(AttentionSelector scope)
    {
        if (scope.AllHeads) throw new VDiTLensException("head_ablation needs a 'heads' list (ablating every head would zero the whole attention)");
        Scope = scope;
    }

    public bool Accepts(AttentionCall call) => Scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        using var scope = torch.NewDisposeScope();
        var output = next(call, q, k, v);
        var ablated = Scope.PerRowHead(call, q.shape[0], q.shape[1], _ => 1.0, 0.0, ScalarType.Float32, output.device) > 0;
        return output.masked_fill(ablated, 0.0).MoveToOuterDisposeScope();
    }
}
