using VDiTLens.Statistics;

namespace VDiTLens.Studies.Sparsity;

/// <summary>How the layer sensitivity ranking is measured on the development seeds.</summary>
public enum RankingSource
{
    /// <summary>The teacher-forced proxy (<see cref="SensitivityProxy"/>, Wan pipelines): one forward per layer, level and sampled step.</summary>
    Proxy,
    /// <summary>One full generation per layer and level with only that layer sparsified (any pipeline).</summary>
    Generations,
}

/// <summary>
/// The held-out sparsity study: the layer ranking and the entropy-matching temperatures are chosen on
/// <see cref="DevSeeds"/> only; every arm is then generated and reported on <see cref="TestSeeds"/> only. The arms at
/// each level of <see cref="Levels"/>: every layer masked; the <see cref="KeepDense"/> most sensitive layers kept dense;
/// the K least sensitive kept dense; K random layers kept dense (<see cref="RandomDraws"/> draws); random keys at the
/// method's count (bottom-k methods); every layer masked with its entropy-matched temperature.
/// </summary>
public sealed record ProtectionOptions
{
    public SweepMethod Method { get; init; } = SweepMethod.Default;
    /// <summary>Sparsity levels of the arms, fixed in advance (not chosen on data); the ranking is measured at the same levels.</summary>
    public IReadOnlyList<double> Levels { get; init; } = new[] { 0.7 };
    public IReadOnlyList<long> DevSeeds { get; init; } = new long[] { 0 };
    public IReadOnlyList<long> TestSeeds { get; init; } = new long[] { 1, 2 };
    /// <summary>K: layers kept dense in the protection arms.</summary>
    public int KeepDense { get; init; } = 1;
    /// <summary>Draws of K random layers kept dense (the control of the ranking).</summary>
    public int RandomDraws { get; init; } = 2;
    /// <summary>Seeds the random layer draws and the random-key masks.</summary>
    public int ControlSeed { get; init; } = 0;
    public RankingSource Ranking { get; init; } = RankingSource.Proxy;
    /// <summary>Also measure the generation ranking on the dev seeds and report its Spearman correlation with the proxy's.</summary>
    public bool ValidateProxy { get; init; }
    /// <summary>Stop after the development seeds (ranking, temperatures, proxy validation); no held-out arm is generated.</summary>
    public bool DevOnly { get; init; }
    /// <summary>Denoising steps the proxy samples.</summary>
    public int ProxySamples { get; init; } = 4;
    /// <summary>The arm "every layer masked + entropy-matched temperature" (sparsifier methods only).</summary>
    public bool TemperatureArm { get; init; } = true;
    /// <summary>The arm "random keys at equal count" (bottom-k methods only).</summary>
    public bool RandomKeyArm { get; init; } = true;
    /// <summary>Entropy matching on every n-th query of each call (τ is a geometric mean over every call of the dev trajectories, so a sparse sample of rows suffices).</summary>
    public int CalibrationQueryStride { get; init; } = 16;
    /// <summary>Entropy matching at this many denoising steps of each dev trajectory, spread from the first to the last (every step when it is at least the step count).</summary>
    public int CalibrationSteps { get; init; } = 4;
    /// <summary>Compute the ResNet18 feature distance per sample (slow on a CPU: a 224 × 224 ResNet18 per frame).</summary>
    public bool FeatureDistance { get; init; }
    public Bootstrap Bootstrap { get; init; } = new();

    public void Validate()
    {
        if (Levels.Count == 0) throw new VDiTLensException("Levels: the list is empty");
        if (Levels.Distinct().Count() != Levels.Count) throw new VDiTLensException("Levels: a level is listed twice");
        SeedSplit.Validate(DevSeeds, TestSeeds);
        if (KeepDense < 1) throw new VDiTLensException($"KeepDense: {KeepDense}; keep at least 1 layer dense (the all-masked arm is always run)");
        if (RandomDraws < 1) throw new VDiTLensException($"RandomDraws: {RandomDraws}; at least one draw of random dense layers is needed");
        if (ProxySamples < 1) throw new VDiTLensException($"ProxySamples: {ProxySamples}; at least one step is needed");
        if (CalibrationSteps < 1) throw new VDiTLensException($"CalibrationSteps: {CalibrationSteps}; at least one step is needed");
        if (CalibrationQueryStride < 1) throw new VDiTLensException($"CalibrationQueryStride: {CalibrationQueryStride}; must be at least 1");
        if (Ranking == RankingSource.Generations && ValidateProxy)
            throw new VDiTLensException("ValidateProxy with Ranking = Generations: validation compares the proxy with generations; rank by the proxy to validate it");
    }
}
