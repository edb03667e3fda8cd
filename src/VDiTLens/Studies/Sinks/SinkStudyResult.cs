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
    IReadOnlyList<TemperaturePoint> Temperatures);
