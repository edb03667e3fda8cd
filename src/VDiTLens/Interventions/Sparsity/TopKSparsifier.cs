using TorchSharp;
using VDiTLens.Attention;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>Keeps the <see cref="Count"/> unmasked keys of largest probability per query (ties: lower key index kept).</summary>
public sealed class TopKSparsifier : Sparsifier
{
    public override string Name => "top_k";
    public long Count { get; }

    public TopKSparsifier(long count, IReadOnlyList<long>? keepSinks = null) : base(keepSinks) =>
        Count = count >= 1 ? count : throw new VDiTLensException($"top_k 'k' must be at least 1 (got {count})");

    public override KeepMask Begin(SparsityInputs inputs) => block =>
        RowRanks.Of(block.Probabilities.masked_fill(block.Valid.logical_not(), -1.0), descending: true) < Count;
}
