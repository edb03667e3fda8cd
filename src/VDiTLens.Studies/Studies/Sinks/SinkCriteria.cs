namespace VDiTLens.Studies.Sinks;

/// <summary>
/// When a key counts as a sink. Per head, a key is an outlier when its received mass (attention averaged over queries)
/// is at least <see cref="RatioThreshold"/> times the mean over keys. Sink^ε (Gu et al.) of a key is the share of heads
/// whose mean attention to it exceeds <see cref="Epsilon"/>. <see cref="TopK"/> sets the size of the top-receiver sets
/// compared across steps, prompts and seeds (Jaccard).
/// </summary>
public sealed record SinkCriteria(double RatioThreshold = 10, double Epsilon = 0.3, int TopK = 5)
{
    public void Validate()
    {
        if (!(RatioThreshold > 1)) throw new VDiTLensException($"RatioThreshold {RatioThreshold}: a sink threshold must be above 1 (times the mean key)");
        if (!(Epsilon > 0 && Epsilon < 1)) throw new VDiTLensException($"Epsilon {Epsilon}: ε must be in (0, 1)");
        if (TopK < 1) throw new VDiTLensException($"TopK {TopK}: must be at least 1");
    }
}
