using VDiTLens.Statistics;

namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>
/// Settings of the length-invariant sink statistics: top-k size, Gu's ε, the key of the model-level Sink^ε (0: the
/// first token of the key sequence), and the bootstrap of the confidence intervals (over runs).
/// </summary>
public sealed record SinkStatisticsOptions(int TopK = 5, double Epsilon = 0.3, int GuKey = 0)
{
    public Bootstrap Bootstrap { get; init; } = new();

    public void Validate()
    {
        if (TopK < 1) throw new VDiTLensException($"sink statistics: TopK must be at least 1 (got {TopK})");
        if (!(Epsilon > 0 && Epsilon < 1)) throw new VDiTLensException($"sink statistics: Epsilon must lie in (0, 1) (got {Epsilon})");
        if (GuKey < 0) throw new VDiTLensException($"sink statistics: GuKey must be ≥ 0 (got {GuKey})");
    }
}
