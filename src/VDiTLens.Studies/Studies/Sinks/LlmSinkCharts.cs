using System.Globalization;
using System.Text;
using VDiTLens.Reports;
using VDiTLens.Reports.Charts;

namespace VDiTLens.Studies.Sinks;

/// <summary>
/// The language model's pictures in the sinks section: the first-token share α₀ per layer and head as a heatmap
/// (with the uniform-causal value in its title; data <c>sinks/llm_first_token_share.csv</c>) and one sequence's
/// attention pattern of the head with the largest α₀ (<see cref="LlmAttentionPattern"/>; data <c>sinks/llm_pattern.json</c>).
/// </summary>
public static class LlmSinkCharts
{
    public const string ShareSvg = "sinks/llm_first_token_share.svg", ShareCsv = "sinks/llm_first_token_share.csv";
    public const string PatternSvg = "sinks/llm_pattern.svg", PatternJson = "sinks/llm_pattern.json";

    /// <summary>Layers × heads of α₀ (mean over the profile's sequences).</summary>
    public static SvgChart FirstTokenShare(LlmSinkProfile profile)
    {
        var layers = profile.Causal.Layers;
        int heads = layers.Max(l => l.FirstKeyMassPerHead.Length);
        var values = new double[layers.Count, heads];
        for (int l = 0; l < layers.Count; l++)
            for (int h = 0; h < heads; h++)
                values[l, h] = h < layers[l].FirstKeyMassPerHead.Length ? layers[l].FirstKeyMassPerHead[h] : double.NaN;
        return HeatmapChart.Render(new HeatmapSpec
        {
            Panels = new[] { new HeatmapPanel(null, values) },
            Title = $"First-token α₀ per head (uniform causal: {Uniform(profile)})",
            RowTitle = "layer", ColumnTitle = "head", RowLabels = layers.Select(l => l.Layer.ToString(CultureInfo.InvariantCulture)).ToArray(),
            ValueTitle = "first-token α₀", Min = 0,
        });
    }

    /// <summary>Query × key probabilities of the pattern's head; keys a query cannot see are grey.</summary>
    public static SvgChart Pattern(LlmAttentionPattern pattern)
    {
        int t = pattern.Ids.Length;
        var values = new double[t, t];
        for (int q = 0; q < t; q++)
            for (int k = 0; k < t; k++) values[q, k] = k > q ? double.NaN : pattern.Probabilities[q][k];
        return HeatmapChart.Render(new HeatmapSpec
        {
            Panels = new[] { new HeatmapPanel(null, values) },
            Title = $"{pattern.Site} head {pattern.Head}: one sequence's attention",
            RowTitle = "query position", ColumnTitle = "key position", ValueTitle = "attention probability", Min = 0, Max = 1,
        });
    }

    /// <summary>Writes both charts and their data files into the report; returns their figures' HTML.</summary>
    public static string Write(HtmlReport report, LlmSinkProfile profile, LlmAttentionPattern pattern, string name)
    {
        SinkReportWriter.WriteCsv(report.Asset(ShareCsv), new[] { "layer", "site", "head", "first_token_share", "uniform_causal" },
            profile.Causal.Layers.SelectMany(l => l.FirstKeyMassPerHead.Select((a, h) => new[]
            {
                l.Layer.ToString(CultureInfo.InvariantCulture), l.Site, h.ToString(CultureInfo.InvariantCulture),
                a.ToString("R", CultureInfo.InvariantCulture), l.UniformFirstKeyMass.ToString("R", CultureInfo.InvariantCulture),
            })));
        SinkReportWriter.WriteJson(report.Asset(PatternJson), pattern);
        return new StringBuilder()
            .Append(report.Chart(ShareSvg, FirstTokenShare(profile),
                $"{name}: share of each head's attention on the first token, mean over all queries and {profile.Sequences} sequences of {profile.Length} tokens " +
                $"(uniform causal attention gives {Uniform(profile)}; Sink^ε counts heads above ε = {profile.Causal.Epsilon.ToString("G3", CultureInfo.InvariantCulture)})",
                new DataLink("CSV", ShareCsv), new DataLink("JSON", "sinks/llm.json")))
            .Append(report.Chart(PatternSvg, Pattern(pattern),
                $"{name}, {pattern.Site} head {pattern.Head} (the largest α₀, {pattern.FirstTokenShare.ToString("F3", CultureInfo.InvariantCulture)}): attention of the first " +
                $"{pattern.Ids.Length} tokens of the first sequence, one row per query; a first-token sink is the bright first column",
                new DataLink("JSON", PatternJson)))
            .ToString();
    }

    private static string Uniform(LlmSinkProfile profile) => profile.Causal.Layers[0].UniformFirstKeyMass.ToString("F3", CultureInfo.InvariantCulture);
}
