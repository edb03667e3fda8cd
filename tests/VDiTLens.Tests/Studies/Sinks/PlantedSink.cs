using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Studies.Sinks;

/// <summary>Adds a logit bias to one key position at the scoped sites: a sink planted where we know it is.</summary>
public sealed class PlantedSink(long position, double bias, AttentionSelector? scope = null) : IAttentionIntervention
{
    public AttentionSelector Scope { get; } = scope ?? AttentionSelector.All;

    public bool Accepts(AttentionCall call) => Scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        using var s = torch.NewDisposeScope();
        var add = torch.zeros(new long[] { 1, 1, 1, k.shape[2] }, dtype: q.dtype, device: q.device);
        add[0, 0, 0, position] = torch.tensor(bias, dtype: q.dtype);
        var mask = call.Mask switch
        {
            null => add,
            { dtype: ScalarType.Bool } m => add.masked_fill(m.logical_not(), double.NegativeInfinity),
            var m => m + add,
        };
        return next(call with { Mask = mask }, q, k, v).MoveToOuterDisposeScope();
    }
}
