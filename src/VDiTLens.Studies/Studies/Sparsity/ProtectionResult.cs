using VDiTLens.Statistics;

namespace VDiTLens.Studies.Sparsity;

/// <summary>A layer's sensitivity on the development seeds (mean over levels, prompts and dev seeds).</summary>
public sealed record LayerScore(int Layer, string Site, double Score);

/// <summary>One (layer, level) of the proxy validation: the proxy's and the generations' sensitivity, each per sample (prompt × dev seed).</summary>
public sealed record ValidationCell(int Layer, double Level, IReadOnlyList<double> Proxy, IReadOnlyList<double> Generation);

/// <summary>Spearman's correlation of the proxy's and the generations' sensitivity over the (layer, level) cells, bootstrapped over samples.</summary>
public sealed record ProxyValidation(Estimate Spearman, IReadOnlyList<ValidationCell> Cells);

/// <summary>What was chosen on the development seeds.</summary>
public sealed record DevSelection(
    RankingSource Source, IReadOnlyList<LayerScore> Ranking, IReadOnlyList<int> Sensitive, IReadOnlyList<int> LeastSensitive,
    IReadOnlyList<IReadOnlyList<int>> RandomDense, IReadOnlyList<CalibratedTemperature> Temperatures, ProxyValidation? Validation);

/// <summary>
/// One held-out sample (prompt × seed) of one arm against the dense run of the same prompt and seed. <see cref="Level"/>
/// is null for the two scale arms (<see cref="ProtectionArms.NoiseFloor"/>, <see cref="ProtectionArms.OtherSeed"/>).
/// </summary>
public sealed record SampleRow(
    string Arm, double? Level, string DenseLayers, int Prompt, long Seed,
    double LatentRelativeL2, double Psnr, double Ssim, double MsSsim, double TemporalFlickering, double DenseTemporalFlickering, double? FeatureDistance);

/// <summary>The study from its saved cells: <see cref="Generations"/> and <see cref="ProxyForwards"/> are those the saved cells hold, whichever run made them.</summary>
public sealed record ProtectionResult(
    IReadOnlyList<string> Sites, ProtectionOptions Options, DevSelection Dev, IReadOnlyList<SampleRow> Samples,
    int Generations, int ProxyForwards, IReadOnlyList<string> Notes);

/// <summary>Arm names of the held-out study.</summary>
public static class ProtectionArms
{
    public const string AllMasked = "all_masked";
    public const string SensitiveDense = "sensitive_dense";
    public const string LeastSensitiveDense = "least_sensitive_dense";
    public const string RandomDensePrefix = "random_dense_";
    public const string RandomKeys = "random_keys";
    public const string AllMaskedTemperature = "all_masked_tau";
    /// <summary>The dense run with every self-attention call through the exact masked kernel, no key dropped: a change that should not matter (d_noise).</summary>
    public const string NoiseFloor = "noise_floor";
    /// <summary>The dense run of the next held-out seed (cyclically), same prompt (d_seed).</summary>
    public const string OtherSeed = "other_seed";
}

/// <summary>
/// Progress of the held-out study: the phase, its cells done (saved earlier or now) of all, the current cell, and the
/// time left from the mean time per generation of the cells computed in this run.
/// </summary>
public sealed record ProtectionProgress(string Phase, int Done, int Total, int Computed, string Current, TimeSpan? Remaining);

