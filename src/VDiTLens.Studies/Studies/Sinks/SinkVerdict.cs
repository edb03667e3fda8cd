using VDiTLens.Attention;

namespace VDiTLens.Studies.Sinks;

/// <summary>Where a model's sinks sit, in one plain sentence backed by counts.</summary>
public sealed record SinkVerdict(int SitesWithSinks, int SitesMeasured, int SinkTokens, int AtFirstPosition, int InFirstFrame, int InText, string Statement)
{
    /// <summary>Reads the aggregate detection of a video model (or a language model: its layout is all text).</summary>
    public static SinkVerdict Of(IReadOnlyList<SiteSinks> sites, string model)
    {
        var withSinks = sites.Where(s => s.Positions.Count > 0).ToList();
        var tokens = withSinks.SelectMany(s => s.Tokens.Where(t => t.OutlierHeads.Count > 0)).ToList();
        int first = tokens.Count(t => t.Position == 0);
        int firstFrame = tokens.Count(t => t.Location.StartsWith("video(f=0,", StringComparison.Ordinal));
        int text = tokens.Count(t => t.Location.StartsWith("text[", StringComparison.Ordinal));
        string statement;
        if (tokens.Count == 0)
            statement = $"{model}: no sinks above the threshold at any of the {sites.Count} measured sites.";
        else if (first == tokens.Count)
            statement = $"{model}: sinks are positional, on the first token, like an LLM's ({withSinks.Count} of {sites.Count} sites).";
        else if (firstFrame == tokens.Count)
            statement = $"{model}: sinks sit on first-frame patches ({tokens.Count} sink tokens at {withSinks.Count} of {sites.Count} sites), not on one fixed token.";
        else
        {
            var where = tokens.GroupBy(t => t.Location).OrderByDescending(g => g.Count()).Take(4).Select(g => $"{g.Key}×{g.Count()}");
            statement = $"{model}: sinks are not positional like an LLM's first token: {tokens.Count} sink tokens at {withSinks.Count} of {sites.Count} sites, "
                + $"{first} at position 0, {firstFrame} in frame 0, {text} text; most frequent: {string.Join(", ", where)}.";
        }
        return new SinkVerdict(withSinks.Count, sites.Count, tokens.Count, first, firstFrame, text, statement);
    }
}
