using VDiTLens.Attention;
using VDiTLens.Interventions.Sparsity;

namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// One generation of the held-out phase: the layers masked at a level and how. Arms that make the same generation (a
/// random draw equal to the sensitive layers, say) share it: it is generated once and saved as one cell.
/// </summary>
/// <param name="Kind">One of <see cref="Masking"/>, <see cref="RandomKeys"/>, <see cref="Temperature"/>, <see cref="NoiseFloor"/>.</param>
/// <param name="KeySeed">The random-key mask's seed (<see cref="RandomKeys"/> only).</param>
/// <param name="Temperatures">The calibrated temperatures applied after the selection (<see cref="Temperature"/> only).</param>
public sealed record ArmGeneration(string Kind, double Level, IReadOnlyList<int> Masked, long KeySeed = 0, IReadOnlyList<CalibratedTemperature>? Temperatures = null)
{
    /// <summary>The method at the level on the masked layers.</summary>
    public const string Masking = "masked";
    /// <summary>Every layer, the method's count of keys per row chosen at random.</summary>
    public const string RandomKeys = "random_keys";
    /// <summary>The method on every layer, then each head's entropy-matching temperature.</summary>
    public const string Temperature = "tau";
    /// <summary>Nothing dropped, every self-attention call through the exact masked kernel.</summary>
    public const string NoiseFloor = "noise_floor";

    /// <summary>The cell's name: everything that determines the generation besides the folder's settings.</summary>
    public string Id(long seed, bool featureDistance)
    {
        string masked = string.Join("-", Masked);
        if (masked.Length > 40) masked = ProtectionCells.Hash(masked);
        string id = $"arm_seed{seed}_{Kind}_{ProtectionCells.R(Level)}_m{masked}";
        if (Kind == RandomKeys) id += $"_k{KeySeed}";
        if (Kind == Temperature)
            id += "_t" + ProtectionCells.Hash(string.Join(";", Temperatures!.Where(t => t.Level == Level).OrderBy(t => t.Site, StringComparer.Ordinal)
                .Select(t => t.Site + ":" + string.Join(",", t.Taus.Select(ProtectionCells.R)))));
        return featureDistance ? id + "_rn18" : id;
    }

    public IReadOnlyList<IAttentionIntervention> Build(IReadOnlyList<string> sites, SweepMethod method)
    {
        var masked = Masked.Select(l => sites[l]).ToArray();
        return Kind switch
        {
            Masking => method.Build(Level, masked),
            RandomKeys => new IAttentionIntervention[] { new SparseAttention(new RandomKeySparsifier(Level, KeySeed), new AttentionSelector { Sites = masked }) },
            Temperature => method.Build(Level, masked).Concat(TemperatureCalibrator.Temperatures(Temperatures!, Level, masked)).ToArray(),
            NoiseFloor => new IAttentionIntervention[] { new SparseAttention(new BottomKSparsifier(0), new AttentionSelector { Sites = masked }) },
            _ => throw new VDiTLensException($"arm generation kind '{Kind}' is not one of {Masking}, {RandomKeys}, {Temperature}, {NoiseFloor}"),
        };
    }
}
