using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// Chooses which keys each query keeps. <see cref="SparseAttention"/> calls <see cref="Begin"/> once per attention
/// call, then the returned <see cref="KeepMask"/> once per block of query rows; dropped keys get -inf logits and the
/// softmax renormalises over the kept ones. Keys in <see cref="KeepSinks"/> are always kept.
/// </summary>
public interface ISparsifier
{
    /// <summary>Short name for reports and config (<c>bottom_k</c>, <c>top_k</c>, …).</summary>
    string Name { get; }

    /// <summary>Key positions always kept (e.g. detected sinks); empty = none.</summary>
    IReadOnlyList<long> KeepSinks { get; }

    /// <summary>The kept fraction of (unmasked) keys actually applied, accumulated per site.</summary>
    DensityMeter Density { get; }

    /// <summary>Per-call setup (pooling, profiling); q, k, v hold only the scoped heads, in the compute dtype.</summary>
    KeepMask Begin(SparsityInputs inputs);
}

/// <summary>One call's inputs restricted to the scoped heads (<see cref="Heads"/> are their indices in the model).</summary>
public sealed record SparsityInputs(AttentionCall Call, Tensor Q, Tensor K, Tensor V, Tensor? Mask, long[] Heads);
