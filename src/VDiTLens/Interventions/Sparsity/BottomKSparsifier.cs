using TorchSharp;
using static TorchSharp.torch;
using VDiTLens.Attention;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// The paper's bottom-k% masking: in each query row with n unmasked keys, drop the floor(s·n) keys of smallest
/// dense probability (s·n in float64), ties dropping the lower key index first, and renormalise over the rest.
/// </summary>
public sealed class BottomKSparsifier(double sparsity, IReadOnlyList<long>? keepSinks = null) : Sparsifier(keepSinks)
{
    public override string Name => "bottom_k";
    public double Sparsity { get; } = CheckSparsity(sparsity);

    public override KeepMask Begin(SparsityInputs inputs) => block =>
    {
        var valid = block.Valid;
        var n = valid.sum(-1, keepdim: true, type: ScalarType.Int64);
        var drop = (n.to(ScalarType.Float64) * Sparsity).floor().to(ScalarType.Int64);
        var invalid = block.Logits.shape[^1] - n;
        // masked keys (-1) are the `invalid` smallest, so the invalid + drop smallest are them plus the dropped keys;
        // found by selection, not by sorting every row
        var probabilities = block.Probabilities.masked_fill(valid.logical_not(), -1.0);
        return RowSelection.Smallest(probabilities, invalid + drop).logical_not().logical_or(valid.logical_not());
    };
}
