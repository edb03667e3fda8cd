using VDiTLens.Attention;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>An intervention that drops query-key pairs and measures the density it applied.</summary>
public interface ISparseIntervention : IAttentionIntervention
{
    /// <summary>Kept ÷ total (unmasked) query-key pairs actually applied, per site.</summary>
    DensityMeter Density { get; }
}
