using System.Globalization;
using System.Text;
using System.Text.Json;
using TorchSharp;
using VDiTLens.Reports;
using VDiTLens.Reports.Charts;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// Writes the structure study into a report folder: <c>structure/summary.json</c>, <c>structure/summary.csv</c>,
/// per-layer prompt × prompt heatmaps, the layer × step heatmap of similarity to the final step, the gallery of
/// head-averaged mean maps, and the report's "structure" section.
/// </summary>
public static class StructureReport
{
    public const string Folder = "structure";

    public static void Write(HtmlReport report, StructureOptions options, IReadOnlyDictionary<string, StructureMaps> maps,
        IReadOnlyDictionary<string, IReadOnlyList<SiteStructure>> results, string model, string? compareModel,
        IReadOnlyDictionary<string, IReadOnlyList<SiteStructure>>? compareResults = null, IReadOnlyList<StructureContrast.Row>? contrast = null)
    {
        WriteJson(report.Asset($"{Folder}/summary.json"), options, results, model, compareModel);
        WriteCsv(report.Asset($"{Folder}/summary.csv"), results);
        if (compareResults is not null) WriteCsv(report.Asset($"{Folder}/summary_compare.csv"), compareResults);
        if (contrast is not null) File.WriteAllText(report.Asset($"{Folder}/compare_contrast.csv"), StructureContrast.Csv(contrast));
        var html = new StringBuilder();
        html.Append($"<p>Model <code>{HtmlReport.Escape(model)}</code>; {options.Prompts.Count} prompts × {options.Seeds.Count} seeds × {options.Steps} steps, " +
                    $"guidance {options.Guidance.ToString(CultureInfo.InvariantCulture)}, branch {HtmlReport.Escape(options.Branch)}" +
                    (compareModel is null ? "" : $"; compared with <code>{HtmlReport.Escape(compareModel)}</code>") + ".</p>");
        html.Append("<p>Similarity of head-averaged pooled attention maps: cross-prompt = same seed and step, different prompts; " +
                    "cross-seed = same prompt and step, different seeds; cross-step = each step against the final step. " +
                    "JS = mean Jensen–Shannon divergence of rows in bits (0 = identical).</p>");
        html.Append("<ol>").Append(string.Concat(options.Prompts.Select(p => $"<li>{HtmlReport.Escape(p)}</li>"))).Append("</ol>");
        foreach (var (kind, sites) in results)
        {
            if (sites.Count == 0) continue;
            html.Append($"<h3>{HtmlReport.Escape(kind)}</h3>");
            html.Append(SummaryTable(sites));
            if (compareResults?.GetValueOrDefault(kind) is { Count: > 0 } compared)
                html.Append($"<p>The compared model's own similarities (<code>{HtmlReport.Escape(compareModel!)}</code>; " +
                            $"<a href=\"{Folder}/summary_compare.csv\">summary_compare.csv</a>): where it is as alike across prompts as the model above, " +
                            "the likeness comes from the architecture, not from training.</p>").Append(SummaryTable(compared));
            if (contrast?.Where(r => r.Kind == kind).ToList() is { Count: > 0 } rows)
                html.Append("<p>Cross-prompt Pearson r, this model against the compared one (per seed: mean over prompts; 95 % bootstrap " +
                            $"CI over seeds, paired by seed; <a href=\"{Folder}/compare_contrast.csv\">compare_contrast.csv</a>):</p>")
                    .Append(HtmlReport.Table(new[] { "site", "seeds", "model", "compared", "difference" },
                        rows.Select(r => (IReadOnlyList<string>)new[] { r.Site, r.Model.N.ToString(CultureInfo.InvariantCulture), r.Model.ToString(), r.Compare.ToString(), r.Difference.ToString() })));

            var data = new[] { new DataLink("JSON", $"{Folder}/summary.json"), new DataLink("CSV", $"{Folder}/summary.csv") };
            var grid = torch.tensor(sites.SelectMany(s => s.PearsonToFinalStep).ToArray(), dtype: ScalarType.Float64).view(sites.Count, options.Steps);
            html.Append(report.Chart($"{Folder}/{kind}_layer_step_to_final.svg", HeatmapChart.Render(new HeatmapSpec
            {
                Panels = new[] { HeatmapPanel.Of(null, grid) }, Title = $"{kind} maps: similarity to the final step",
                RowTitle = "site", RowLabels = sites.Select(s => s.Site).ToArray(), ColumnTitle = "denoising step",
                ValueTitle = "Pearson r with the final step", Max = 1,
            }), "Pearson correlation of each step's head-averaged map with the final step's (grey: undefined)", data));

            html.Append("<h4>Prompt × prompt Pearson correlation per layer</h4><div>");
            var promptLabels = Enumerable.Range(1, options.Prompts.Count).Select(i => $"P{i}").ToArray();
            html.Append(report.Chart($"{Folder}/{kind}_prompts.svg", HeatmapChart.Render(new HeatmapSpec
            {
                Panels = sites.Select(s => HeatmapPanel.Of(s.Site, torch.tensor(s.PromptPearson.SelectMany(r => r).ToArray(), dtype: ScalarType.Float64)
                    .view(options.Prompts.Count, options.Prompts.Count))).ToArray(),
                Title = $"{kind} maps: prompt × prompt similarity", RowTitle = "prompt", ColumnTitle = "prompt",
                RowLabels = promptLabels, ColumnLabels = promptLabels, ValueTitle = "Pearson r", Max = 1, PanelsPerRow = 4,
            }), "Pearson correlation between prompts' head-averaged maps (same seed and step; prompts numbered as listed above)", data));
            html.Append("</div><h4>Head-averaged maps (mean over prompts, seeds and steps; each scaled min … max)</h4><div>");
            foreach (var s in sites)
            {
                using var mean = maps[kind].MeanMap(s.Site);
                var values = HeatmapPanel.Of(null, mean);
                html.Append(report.Chart($"{Folder}/{kind}_mean_{Safe(s.Site)}.svg", HeatmapChart.Render(new HeatmapSpec
                {
                    Panels = new[] { values }, Title = s.Site, RowTitle = "query group", ColumnTitle = "key group", ValueTitle = "attention share",
                    Min = values.Values.Cast<double>().Where(double.IsFinite).DefaultIfEmpty(0).Min(), CellSize = Math.Clamp(200.0 / s.Groups, 1, 24),
                }), $"{s.Site}: {kind} map, rows = query {kind} groups", data));
            }
            html.Append("</div>");
        }
        html.Append($"<p>Data: <a href=\"{Folder}/summary.json\">summary.json</a> (per head too), <a href=\"{Folder}/summary.csv\">summary.csv</a>.</p>");
        report.WriteSection(20, "structure", "Structure: attention maps across prompts, seeds and steps", html.ToString());
    }

    private static string SummaryTable(IReadOnlyList<SiteStructure> sites)
    {
        bool models = sites.Any(s => s.HeadAverage.CrossModel is not null);
        var header = new List<string> { "site", "layer", "prompt r", "prompt cos", "prompt JS", "seed r", "seed cos", "seed JS", "step r", "step cos", "step JS" };
        if (models) header.AddRange(new[] { "model r", "model cos", "model JS" });
        return HtmlReport.Table(header, sites.Select(s =>
        {
            var a = s.HeadAverage;
            var row = new List<string> { s.Site, s.Layer.ToString(CultureInfo.InvariantCulture) };
            foreach (var c in new[] { a.CrossPrompt, a.CrossSeed, a.CrossStep }.Concat(models ? new[] { a.CrossModel } : Array.Empty<MapComparison?>()))
                row.AddRange(MapComparison.Metrics.Select(m => Format(c?.Get(m))));
            return row;
        }));
    }

    private static void WriteCsv(string path, IReadOnlyDictionary<string, IReadOnlyList<SiteStructure>> results)
    {
        var sb = new StringBuilder("kind,site,layer,head");
        foreach (var group in new[] { "cross_prompt", "cross_seed", "cross_step", "cross_model" })
            foreach (var m in MapComparison.Metrics) sb.Append($",{group}_{m}");
        sb.Append('\n');
        foreach (var (kind, sites) in results)
            foreach (var s in sites)
                foreach (var (head, summary) in new[] { ("mean", s.HeadAverage) }.Concat(s.PerHead.Select((h, i) => (i.ToString(CultureInfo.InvariantCulture), h))))
                {
                    sb.Append($"{kind},{s.Site},{s.Layer},{head}");
                    foreach (var c in new[] { summary.CrossPrompt, summary.CrossSeed, summary.CrossStep, summary.CrossModel })
                        foreach (var m in MapComparison.Metrics) sb.Append(',').Append(c is null ? "" : CsvNumber.Of(c.Get(m)));
                    sb.Append('\n');
                }
        File.WriteAllText(path, sb.ToString());
    }

    private static void WriteJson(string path, StructureOptions options, IReadOnlyDictionary<string, IReadOnlyList<SiteStructure>> results,
        string model, string? compareModel)
    {
        object? Comparison(MapComparison? c) => c is null ? null : new { pearson = Json(c.Pearson), cosine = Json(c.Cosine), js = Json(c.JensenShannon) };
        object Summary(SimilaritySummary s) => new
        {
            cross_prompt = Comparison(s.CrossPrompt), cross_seed = Comparison(s.CrossSeed),
            cross_step = Comparison(s.CrossStep), cross_model = Comparison(s.CrossModel),
        };
        var document = new
        {
            model, compare_model = compareModel, prompts = options.Prompts, seeds = options.Seeds, steps = options.Steps,
            guidance = options.Guidance, branch = options.Branch,
            kinds = results.ToDictionary(kv => kv.Key, kv => kv.Value.Select(s => new
            {
                site = s.Site, layer = s.Layer, groups = s.Groups, heads = s.Heads,
                head_average = Summary(s.HeadAverage),
                per_head = s.PerHead.Select(Summary).ToArray(),
                pearson_to_final_step = s.PearsonToFinalStep.Select(Json).ToArray(),
                prompt_pearson = s.PromptPearson.Select(r => r.Select(Json).ToArray()).ToArray(),
            }).ToArray()),
        };
        File.WriteAllText(path, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>JSON has no NaN: undefined values are written as null.</summary>
    private static double? Json(double v) => double.IsFinite(v) ? Math.Round(v, 6) : null;
    private static string Format(double? v) => v is { } x ? EditReport.F(x) : "–";
    public static string Safe(string name) => string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
}
