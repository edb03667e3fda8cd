using VDiTLens.Attention;
namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// Drops keys whose dense probability is below <see cref="Threshold"/> (0 keeps everything). A threshold above a
/// row's largest probability drops the whole row, whose output is then 0; thresholds ≤ 1/Lk never do.
/// </summary>
public sealed class ThresholdSparsifier : Sparsifier
{
    public override string Name => "threshold";
    public double Threshold { get; }

    public ThresholdSparsifier(double threshold, IReadOnlyList<long>? keepSinks = null) : base(keepSinks) =>
        Threshold = threshold >= 0 && threshold <= 1 ? threshold : throw new VDiTLensException($"'threshold' must lie in [0, 1] (got {threshold})");

    public override KeepMask Begin(SparsityInputs inputs) => block => block.Probabilities >= Threshold;
}
