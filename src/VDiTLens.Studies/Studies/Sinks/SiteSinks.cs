namespace VDiTLens.Studies.Sinks;

/// <summary>One sink token of a site: where it is, its head-averaged mass, and how many heads single it out.</summary>
/// <param name="MaxRatio">Largest ratio of its mass to the mean key over heads.</param>
/// <param name="OutlierHeads">Heads in which it is an outlier (ratio ≥ threshold).</param>
/// <param name="EpsilonShare">Sink^ε: share of heads giving it more than ε of their attention.</param>
public sealed record SinkToken(long Position, string Location, double Mass, double MaxRatio, IReadOnlyList<int> OutlierHeads, double EpsilonShare);

/// <summary>One head of a site: its strongest receiver and the mass its outlier keys take together.</summary>
public sealed record HeadSinks(int Head, long PeakPosition, double PeakRatio, double SinkMass, IReadOnlyList<long> Sinks);

/// <summary>The sinks of one attention site, at one step of one run (or aggregated: Step/Run = -1).</summary>
/// <param name="SinkMass">Mean over heads of the mass their outlier keys receive.</param>
/// <param name="TopK">Positions of the top-k head-averaged receivers (for persistence).</param>
public sealed record SiteSinks(
    string Site, int Layer, string Kind, int Step, int Run, long Keys,
    double PeakRatio, double SinkMass, double MaxEpsilonShare,
    IReadOnlyList<HeadSinks> Heads, IReadOnlyList<SinkToken> Tokens, IReadOnlyList<long> TopK)
{
    /// <summary>Positions that are an outlier in at least one head.</summary>
    public IReadOnlyList<long> Positions => Tokens.Where(t => t.OutlierHeads.Count > 0).Select(t => t.Position).ToArray();
}
