using System.Globalization;
using System.Text;
using TorchSharp;
using VDiTLens.Probes;
using VDiTLens.Reports;
using VDiTLens.Reports.Charts;

namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// Writes the sparsity study into a report folder: <c>sparsity/</c> holds profile.csv, sweep.csv, sweep.json and the
/// PNGs (coverage vs layer; per method and mode a layer × level heatmap of latent error; coverage vs degradation
/// scatter), and the HTML report gets section 30 "sparsity".
/// </summary>
public static class SparsityReport
{
    public const string Folder = "sparsity";

    public static IReadOnlyList<string> Write(HtmlReport report, SweepOutcome outcome)
    {
        var files = new List<string>();
        string Asset(string name)
        {
            string path = report.Asset(Path.Combine(Folder, name));
            files.Add(path);
            return path;
        }
        var html = new StringBuilder();
        var profile = outcome.Profile;

        File.WriteAllText(Asset("profile.csv"), ProfileCsv(profile));
        html.Append("<h3>How sparse attention looks (dense run)</h3><p>Top-k coverage: the fraction of keys that hold share p of each query's attention, ")
            .Append("averaged over queries, heads and denoising steps (per head and step in <a href=\"sparsity/profile.csv\">profile.csv</a>). Small = looks sparse.")
            .Append(outcome.DenseAccuracy is { } acc ? $" Dense evaluator accuracy: {acc:P0}." : "").Append("</p>");
        html.Append(report.Chart($"{Folder}/coverage_by_layer.svg", CoveragePlot(profile),
            "coverage fraction per layer, one line per mass level p", new DataLink("CSV", $"{Folder}/profile.csv")));
        html.Append(HtmlReport.Table(new[] { "layer", "site" }.Concat(EntropyCoverage.Levels.Select(p => $"coverage@{p}")).Append("entropy (nats)"),
            profile.Sites.Select(s => new[] { s.Layer.ToString(), s.Site }.Concat(s.FractionByLevel.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)))
                .Append(s.Entropy.ToString("F3", CultureInfo.InvariantCulture)))));

        if (outcome.Results.Count > 0)
        {
            File.WriteAllText(Asset("sweep.csv"), SweepTable.Csv(outcome));
            File.WriteAllText(Asset("sweep.json"), SweepTable.Json(outcome));
            html.Append($"<h3>Sensitivity sweep</h3><p>{outcome.Results.Count} of {outcome.Total} cells{(outcome.Complete ? "" : " (incomplete: run again to resume)")}; ")
                .Append("every cell compared with the dense run of the same seed and prompts. Data: <a href=\"sparsity/sweep.csv\">sweep.csv</a>, <a href=\"sparsity/sweep.json\">sweep.json</a>.</p>");
            foreach (var method in outcome.Results.Select(r => r.Cell.Method).Distinct())
                html.Append(MethodSection(report, outcome, method, Asset));
        }
        report.WriteSection(30, "sparsity", "Sparsity: looks sparse vs can be sparsified", html.ToString());
        return files;
    }

    private static string MethodSection(HtmlReport report, SweepOutcome outcome, string method, Func<string, string> asset)
    {
        var html = new StringBuilder($"<h4>{HtmlReport.Escape(method)}</h4>");
        var cells = outcome.Results.Where(r => r.Cell.Method == method).ToArray();
        var levels = cells.Select(r => r.Cell.Level).Distinct().Order().ToArray();
        foreach (var mode in SweepMode.All)
        {
            var modeCells = cells.Where(r => r.Cell.Mode == mode).ToArray();
            if (modeCells.Length == 0) continue;
            var rows = modeCells.Select(r => r.Cell.Layer).Distinct().Order().ToArray();
            string svg = $"sweep_{Safe(method)}_{mode}.svg";
            var matrix = torch.full(rows.Length, levels.Length, double.NaN, dtype: torch.ScalarType.Float64);
            foreach (var r in modeCells) matrix[Array.IndexOf(rows, r.Cell.Layer), Array.IndexOf(levels, r.Cell.Level)] = r.LatentRelativeL2;
            var chart = HeatmapChart.Render(new HeatmapSpec
            {
                Panels = new[] { HeatmapPanel.Of(null, matrix) }, Title = $"{method}, {mode}",
                RowTitle = mode == SweepMode.Uniform ? "K (layers kept dense)" : "layer", RowLabels = rows.Select(r => r.ToString(CultureInfo.InvariantCulture)).ToArray(),
                ColumnTitle = "sparsity level", ColumnLabels = levels.Select(l => l.ToString(CultureInfo.InvariantCulture)).ToArray(),
                ValueTitle = "latent relative L2 error", CellSize = Math.Clamp(240.0 / Math.Max(rows.Length, levels.Length), 8, 40),
            });
            asset(svg);
            string what = mode switch
            {
                SweepMode.Single => "only this layer sparsified",
                SweepMode.LeaveOneOut => "every layer but this one sparsified",
                _ => "every layer but the K most sensitive (single-layer sweep) sparsified",
            };
            html.Append($"<h5>{mode}: {what}</h5>");
            html.Append(report.Chart($"{Folder}/{svg}", chart, "latent relative L2 error against the dense run (grey: not run)",
                new DataLink("CSV", $"{Folder}/sweep.csv"), new DataLink("JSON", $"{Folder}/sweep.json")));
            html.Append(HtmlReport.Table(
                new[] { mode == SweepMode.Uniform ? "K dense" : "layer" }.Concat(levels.Select(l => $"level {l}: rel L2 / PSNR / SSIM / density{(outcome.DenseAccuracy is null ? "" : " / acc")}")),
                rows.Select(row => new[] { row.ToString() }.Concat(levels.Select(l =>
                    modeCells.FirstOrDefault(r => r.Cell.Layer == row && r.Cell.Level == l) is { } c ? Describe(c) : "–")))));
        }
        var single = cells.Where(r => r.Cell.Mode == SweepMode.Single).ToArray();
        if (single.Length > 0) html.Append(SparseButSensitive(report, outcome, method, single, asset));
        return html.ToString();
    }

    /// <summary>
    /// Coverage@0.9 against the single-layer degradation per layer; a layer is flagged "looks sparse, is sensitive" when
    /// its coverage is at or below the median of the swept layers and its degradation above the median.
    /// </summary>
    private static string SparseButSensitive(HtmlReport report, SweepOutcome outcome, string method, SweepCellResult[] single, Func<string, string> asset)
    {
        var ranking = SensitivityRanking.Rank(single, method);
        var points = ranking.Select(x => (x.Layer, Coverage: outcome.Profile.Sites[x.Layer].At(0.9), x.Score)).OrderBy(p => p.Layer).ToArray();
        double coverageMedian = Median(points.Select(p => p.Coverage)), scoreMedian = Median(points.Select(p => p.Score));
        string svg = $"coverage_vs_degradation_{Safe(method)}.svg";
        bool Flagged((int Layer, double Coverage, double Score) p) => p.Coverage <= coverageMedian && p.Score > scoreMedian;
        LineSeries Points(string name, Func<(int Layer, double Coverage, double Score), bool> which, string colour)
        {
            var chosen = points.Where(which).ToArray();
            return new LineSeries(name, chosen.Select(p => p.Coverage).ToArray(), chosen.Select(p => p.Score).ToArray())
                { Colour = colour, Lines = false, PointLabels = chosen.Select(p => $"L{p.Layer}").ToArray() };
        }
        var chart = LineChart.Render(new LineChartSpec
        {
            Title = $"{method}: looks sparse vs can be sparsified", XTitle = "coverage@0.9 (fraction of keys)", YTitle = "mean latent rel. L2 (single layer)",
            Series = new[] { Points("other layers", p => !Flagged(p), Colormap.Series[0]), Points("looks sparse, is sensitive", Flagged, Colormap.Series[1]) },
            YMin = 0,
        });
        asset(svg);
        var html = new StringBuilder("<h5>Looks sparse vs can be sparsified</h5>");
        html.Append(report.Chart($"{Folder}/{svg}", chart,
            "each layer's coverage@0.9 against the error of sparsifying only that layer; flagged: coverage ≤ median and error > median",
            new DataLink("CSV", $"{Folder}/sweep.csv"), new DataLink("profile CSV", $"{Folder}/profile.csv")));
        html.Append(HtmlReport.Table(new[] { "layer", "site", "coverage@0.9", "sensitivity rank", "mean rel L2 (single)", "looks sparse, is sensitive" },
            points.OrderBy(p => p.Coverage).Select(p => new[]
            {
                p.Layer.ToString(), outcome.Sites[p.Layer], p.Coverage.ToString("F3", CultureInfo.InvariantCulture),
                (ranking.ToList().FindIndex(x => x.Layer == p.Layer) + 1).ToString(), p.Score.ToString("G4", CultureInfo.InvariantCulture),
                p.Coverage <= coverageMedian && p.Score > scoreMedian ? "yes" : "",
            })));
        return html.ToString();
    }

    private static string Describe(SweepCellResult c) =>
        string.Join(" / ", new[]
        {
            c.LatentRelativeL2.ToString("G3", CultureInfo.InvariantCulture), c.Psnr.ToString("F1", CultureInfo.InvariantCulture),
            c.Ssim.ToString("F3", CultureInfo.InvariantCulture), c.Density?.ToString("F2", CultureInfo.InvariantCulture) ?? "–",
        }.Concat(c.Accuracy is { } a ? new[] { a.ToString("P0", CultureInfo.InvariantCulture) } : Array.Empty<string>()));

    public static string ProfileCsv(SparsityProfile profile)
    {
        var sb = new StringBuilder("site,layer,step,head,p,coverage_fraction\n");
        foreach (var r in profile.Rows)
            sb.Append($"{r.Site},{r.Layer},{r.Step},{r.Head},{SweepTable.F(r.P)},{SweepTable.F(r.Fraction)}\n");
        return sb.ToString();
    }

    private static SvgChart CoveragePlot(SparsityProfile profile) => LineChart.Render(new LineChartSpec
    {
        Title = "Top-k coverage per layer", XTitle = "layer", YTitle = "keys holding mass p (fraction)", IntegerX = true, YMin = 0,
        Series = EntropyCoverage.Levels.Select((p, l) => new LineSeries($"p = {p.ToString(CultureInfo.InvariantCulture)}",
            profile.Sites.Select(s => (double)s.Layer).ToArray(), profile.Sites.Select(s => s.FractionByLevel[l]).ToArray())).ToArray(),
    });

    private static double Median(IEnumerable<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static string Safe(string s) => new(s.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
}
