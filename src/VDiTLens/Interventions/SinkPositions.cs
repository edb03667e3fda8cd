using VDiTLens.Attention;

namespace VDiTLens.Interventions;

/// <summary>Key positions per site (exact site name), falling back to <see cref="Global"/> for other sites.</summary>
public sealed record SinkPositions
{
    public IReadOnlyList<long> Global { get; init; } = Array.Empty<long>();
    public IReadOnlyDictionary<string, IReadOnlyList<long>> BySite { get; init; } = new Dictionary<string, IReadOnlyList<long>>();

    public IReadOnlyList<long> For(AttentionCall call, long keyCount)
    {
        var positions = BySite.TryGetValue(call.Site.Name, out var p) ? p : Global;
        foreach (long s in positions)
            if (s < 0 || s >= keyCount)
                throw new VDiTLensException($"sink position {s} is outside the {keyCount} keys of site {call.Site.Name}; fix 'positions'");
        return positions;
    }
}
