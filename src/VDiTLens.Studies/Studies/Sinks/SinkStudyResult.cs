namespace VDiTLens.Studies.Sinks;

/// <summary>One point of the temperature sweep, averaged over runs and scoped sites.</summary>
/// <param name="Entropy">Mean attention entropy (nats) over scoped sites, heads, steps and runs.</param>
/// <param name="SinkMass">Mean over scoped sites and heads of the mass the baseline's sinks of that head receive.</param>
public sealed record TemperaturePoint(double Tau, bool Sparsified, double Entropy, double SinkMass, OutputSummary Output);

/// <summary>Residual stream and key/value norms of sink tokens at one step of the first run.</summary>
public sealed record SinkCharacterisation(int Step, IReadOnlyList<NormComparison> Norms, IReadOnlyList<ResidualStats> Residuals);

public sealed record SinkStudyResult(
    SinkDetection Detection,
    SinkCharacterisation Characterisation,
    IReadOnlyList<OutputSummary> Ablations,
    IReadOnlyList<TemperaturePoint> Temperatures)
{
    /// <summary>Every changed generation against its baseline, in the order the arms ran.</summary>
    public IReadOnlyList<SinkSample> Samples { get; init; } = Array.Empty<SinkSample>();
}

/// <summary>
/// One (arm, prompt, seed) of the ablation or the temperature sweep: its output change against the baseline of the same
/// prompt and seed and, for temperature arms, the run's mean entropy and sink mass over the scoped sites.
/// </summary>
public sealed record SinkSample(string Arm, int PromptIndex, string Prompt, long Seed, OutputChange Change, double? Entropy, double? SinkMass);
