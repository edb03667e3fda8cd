using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using VDiTLens.Reports;
using VDiTLens.Reports.Charts;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>Writes the sink study's JSON, CSV and PNG files under <c>&lt;report&gt;/sinks/</c> and its HTML report section.</summary>
public static class SinkReportWriter
{
    public const int SectionOrder = 40;
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    public static string Format(double x) => double.IsNaN(x) ? "" : x.ToString("G4", CultureInfo.InvariantCulture);

    public static void WriteJson(string path, object value)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(value, Json));
        File.Move(tmp, path, overwrite: true);
    }

    public static void WriteCsv(string path, IEnumerable<string> header, IEnumerable<IEnumerable<string>> rows)
    {
        var sb = new StringBuilder(string.Join(",", header)).Append('\n');
        foreach (var row in rows) sb.Append(string.Join(",", row.Select(c => c.Contains(',') ? $"\"{c}\"" : c))).Append('\n');
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, sb.ToString());
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Detection files and plots; returns the HTML of the detection part.</summary>
    public static string WriteDetection(HtmlReport report, SinkDetection detection, IReadOnlyList<ProbedRun> baselines, SinkVerdict verdict)
    {
        string dir = report.Asset("sinks/x");
        dir = Path.GetDirectoryName(dir)!;
        WriteJson(Path.Combine(dir, "detection.json"), new { verdict, detection.Aggregate, detection.Persistence, detection.PerRun });
        WriteCsv(Path.Combine(dir, "sinks_per_step.csv"),
            new[] { "run", "step", "site", "layer", "kind", "peak_ratio", "sink_mass", "max_sink_eps", "sinks" },
            detection.PerStep.Select(s => new[] { s.Run.ToString(), s.Step.ToString(), s.Site, s.Layer.ToString(), s.Kind, Format(s.PeakRatio), Format(s.SinkMass),
                Format(s.MaxEpsilonShare), string.Join(" ", s.Tokens.Where(t => t.OutlierHeads.Count > 0).Select(t => t.Location.Replace(", ", ";"))) }));
        var html = new StringBuilder($"<p>{HtmlReport.Escape(verdict.Statement)}</p>");
        foreach (var kind in new[] { "self", "joint", "cross" })
        {
            var sites = detection.Aggregate.Where(s => s.Kind == kind).OrderBy(s => s.Layer).ToList();
            if (sites.Count == 0) continue;
            html.Append(report.Chart($"sinks/sink_mass_{kind}.svg", BarChart.Render(new BarChartSpec
            {
                Title = $"{kind}-attention sink mass per layer", XTitle = "layer", YTitle = "sink mass (share of attention)",
                Categories = sites.Select(s => s.Layer.ToString(CultureInfo.InvariantCulture)).ToArray(), Values = sites.Select(s => s.SinkMass).ToArray(),
            }), $"attention mass received by the sink tokens, per {kind}-attention layer", new DataLink("JSON", "sinks/detection.json"), new DataLink("CSV", "sinks/sinks_per_step.csv")));
        }
        foreach (var site in detection.Aggregate.Where(s => s.Kind is "self" or "joint"))
        {
            var mean = torch.stack(baselines.Where(b => b.Layouts.ContainsKey(site.Site)).Select(b => b.StepMean(site.Site)).ToArray()).mean(new long[] { 0, 1 });
            if (SinkGridMap.Chart(mean, baselines[0].Layouts[site.Site], $"{site.Site}: received mass per frame") is { } chart)
                html.Append(report.Chart($"sinks/maps/{site.Site}.svg", chart, $"{site.Site}: attention received per video key, head- and step-averaged (peak ×{Format(site.PeakRatio)} the mean)",
                    new DataLink("JSON", "sinks/detection.json")));
            mean.Dispose();
        }
        var persistence = detection.Persistence.ToDictionary(p => p.Site);
        html.Append(HtmlReport.Table(new[] { "site", "peak ratio", "sink mass", "max Sink^ε", "sinks", "Jaccard steps", "prompts", "seeds" },
            detection.Aggregate.Select(s => new[] { s.Site, Format(s.PeakRatio), Format(s.SinkMass), Format(s.MaxEpsilonShare),
                string.Join(" ", s.Tokens.Where(t => t.OutlierHeads.Count > 0).Take(4).Select(t => t.Location)),
                Format(persistence[s.Site].AcrossSteps), Format(persistence[s.Site].AcrossPrompts), Format(persistence[s.Site].AcrossSeeds) })));
        return html.ToString();
    }

    /// <summary><c>sinks/samples.csv</c>: one row per (arm, prompt, seed).</summary>
    public static void WriteSamples(HtmlReport report, IReadOnlyList<SinkSample> samples)
    {
        string dir = Path.GetDirectoryName(report.Asset("sinks/x"))!;
        string Bool(bool? b) => b is { } v ? (v ? "1" : "0") : "";
        WriteCsv(Path.Combine(dir, "samples.csv"),
            new[] { "arm", "prompt_index", "prompt", "seed", "latent_rel_error", "psnr_db", "ssim", "attributes_correct", "agrees_with_baseline", "entropy", "sink_mass" },
            samples.Select(s => new[] { s.Arm, s.PromptIndex.ToString(CultureInfo.InvariantCulture), s.Prompt, s.Seed.ToString(CultureInfo.InvariantCulture),
                Format(s.Change.LatentRelativeError), Format(s.Change.Psnr), Format(s.Change.Ssim), Bool(s.Change.AttributesCorrect), Bool(s.Change.AgreesWithBaseline),
                s.Entropy is { } e ? Format(e) : "", s.SinkMass is { } m ? Format(m) : "" }));
    }

    public static string WriteCharacterisation(HtmlReport report, SinkCharacterisation c)
    {
        string dir = Path.GetDirectoryName(report.Asset("sinks/x"))!;
        WriteJson(Path.Combine(dir, "characterisation.json"), c);
        return $"<h3>Characterisation (step {c.Step})</h3>"
            + HtmlReport.Table(new[] { "site", "sinks", "|k| sink/other", "|v| sink/other" },
                c.Norms.Where(n => n.Sinks > 0).Select(n => new[] { n.Site, n.Sinks.ToString(), Format(n.KeyRatio), Format(n.ValueRatio) }))
            + HtmlReport.Table(new[] { "residual", "max|h|/median", "at", "channel", "max‖h‖/median", "at" },
                c.Residuals.Select(r => new[] { r.Key, Format(r.AbsRatio), r.MaxLocation, r.MaxChannel.ToString(), Format(r.NormRatio), r.MaxNormLocation }));
    }

    public static string WriteOutputs(HtmlReport report, string name, string title, IReadOnlyList<OutputSummary> rows, IReadOnlyList<TemperaturePoint>? points = null)
    {
        string dir = Path.GetDirectoryName(report.Asset("sinks/x"))!;
        var header = new List<string> { "condition", "runs", "latent rel. error", "PSNR dB", "SSIM", "attribute accuracy", "agrees with baseline" };
        if (points is not null) header.InsertRange(1, new[] { "entropy", "sink mass" });
        var table = rows.Select((r, i) =>
        {
            var cells = new List<string> { r.Condition, r.Runs.ToString(), Format(r.LatentRelativeError), Format(r.Psnr), Format(r.Ssim),
                r.AttributeAccuracy is { } a ? Format(a) : "", Format(r.BaselineAgreement) };
            if (points is not null) cells.InsertRange(1, new[] { Format(points[i].Entropy), Format(points[i].SinkMass) });
            return (IEnumerable<string>)cells;
        }).ToList();
        WriteCsv(Path.Combine(dir, name + ".csv"), header, table);
        WriteJson(Path.Combine(dir, name + ".json"), (object?)points ?? rows);
        return $"<h3>{HtmlReport.Escape(title)}</h3>" + HtmlReport.Table(header, table);
    }
}
