using VDiTLens.Attention;
namespace VDiTLens.Interventions.Sparsity;

/// <summary>What every sparsifier shares: the always-kept keys and the density meter.</summary>
public abstract class Sparsifier(IReadOnlyList<long>? keepSinks) : ISparsifier
{
    public abstract string Name { get; }
    public IReadOnlyList<long> KeepSinks { get; } = keepSinks ?? Array.Empty<long>();
    public DensityMeter Density { get; } = new();

    public abstract KeepMask Begin(SparsityInputs inputs);

    /// <summary>Checks a sparsity fraction s ∈ [0, 1) (1 would drop every key).</summary>
    protected static double CheckSparsity(double sparsity, string field = "sparsity") =>
        sparsity >= 0 && sparsity < 1 ? sparsity : throw new VDiTLensException($"'{field}' must lie in [0, 1) (got {sparsity})");
}
