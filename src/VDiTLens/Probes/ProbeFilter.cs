using VDiTLens.Attention;

namespace VDiTLens.Probes;

/// <summary>
/// Which attention calls a probe reads. Site patterns match a site name exactly, or with a trailing '*' as a prefix
/// (<c>blocks.1*</c>), or by kind (<c>self</c>, <c>cross</c>, <c>joint</c>). Empty lists mean "all".
/// </summary>
public sealed record ProbeFilter
{
    public IReadOnlyList<string> Sites { get; init; } = Array.Empty<string>();
    public IReadOnlyList<int> Steps { get; init; } = Array.Empty<int>();
    public IReadOnlyList<string> Branches { get; init; } = Array.Empty<string>();
    /// <summary>Heads to keep (indices); empty = all heads.</summary>
    public IReadOnlyList<long> Heads { get; init; } = Array.Empty<long>();

    public static ProbeFilter All { get; } = new();

    public bool Accepts(AttentionCall call) =>
        (Sites.Count == 0 || Sites.Any(p => Matches(p, call.Site)))
        && (Steps.Count == 0 || Steps.Contains(call.State.Step))
        && (Branches.Count == 0 || Branches.Contains(call.State.Branch));

    private static bool Matches(string pattern, AttentionSite site)
    {
        if (pattern.Equals(site.Kind.ToString(), StringComparison.OrdinalIgnoreCase)) return true;
        if (pattern.EndsWith('*')) return site.Name.StartsWith(pattern[..^1], StringComparison.Ordinal);
        return pattern == site.Name;
    }

    /// <summary>Parses "a,b,c" lists of the CLI.</summary>
    public static ProbeFilter Parse(string? sites, string? steps, string? branches, string? heads) => new()
    {
        Sites = Split(sites),
        Steps = Split(steps).Select(ParseInt).ToArray(),
        Branches = Split(branches),
        Heads = Split(heads).Select(s => (long)ParseInt(s)).ToArray(),
    };

    private static string[] Split(string? s) =>
        string.IsNullOrWhiteSpace(s) ? Array.Empty<string>() : s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static int ParseInt(string s) =>
        int.TryParse(s, out int v) ? v : throw new VDiTLensException($"'{s}' is not an integer (in a --steps or --heads list)");
}
