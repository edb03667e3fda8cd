using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// The control of <see cref="BottomKSparsifier"/>: in each query row with n unmasked keys, drop floor(s·n) keys chosen
/// uniformly at random (the same count bottom-k drops, but blind to the probabilities), and renormalise over the rest.
/// The draws come from this sparsifier's own generator seeded with <see cref="Seed"/>, so a run with the same calls in
/// the same order drops the same keys, and the global random state is left alone.
/// </summary>
public sealed class RandomKeySparsifier(double sparsity, long seed, IReadOnlyList<long>? keepSinks = null) : Sparsifier(keepSinks)
{
    private readonly Generator _generator = new((ulong)seed);

    public override string Name => "random_k";
    public double Sparsity { get; } = CheckSparsity(sparsity);
    public long Seed { get; } = seed;

    public override KeepMask Begin(SparsityInputs inputs) => block =>
    {
        var valid = block.Valid;
        var n = valid.sum(-1, keepdim: true, type: ScalarType.Int64);
        var drop = (n.to(ScalarType.Float64) * Sparsity).floor().to(ScalarType.Int64);
        var invalid = block.Logits.shape[^1] - n;
        var scores = torch.rand(block.Logits.shape, ScalarType.Float64, torch.CPU, generator: _generator).to(block.Logits.device)
            .masked_fill(valid.logical_not(), -1.0); // masked keys are the `invalid` smallest, then the random ones
        return RowSelection.Smallest(scores, invalid + drop).logical_not().logical_or(valid.logical_not());
    };
}
