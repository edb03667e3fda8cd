using System.Globalization;
using System.Text;
using TorchSharp;
using VDiTLens.Probes;
using VDiTLens.Reports;

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
        WriteCoveragePlot(Asset("coverage_by_layer.png"), profile);
        html.Append("<h3>How sparse attention looks (dense run)</h3><p>Top-k coverage: the fraction of keys that hold share p of each query's attention, ")
            .Append("averaged over queries, heads and denoising steps (per head and step in <a href=\"sparsity/profile.csv\">profile.csv</a>). Small = looks sparse.")
            .Append(outcome.DenseAccuracy is { } acc ? $" Dense evaluator accuracy: {acc:P0}." : "").Append("</p>");
        html.Append(HtmlReport.Figure("sparsity/coverage_by_layer.png",
            $"coverage fraction (y, {Range(profile.Sites.SelectMany(s => s.FractionByLevel))}) vs layer (x, 0…{profile.Sites.Count - 1}); " +
            string.Join(", ", EntropyCoverage.Levels.Select((p, i) => $"p={p}: {RasterPlot.PaletteNames[i]}"))));
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
                html.Append(MethodSection(outcome, method, Asset));
        }
        report.WriteSection(30, "sparsity", "Sparsity: looks sparse vs can be sparsified", html.ToString());
        return files;
    }

    private static string MethodSection(SweepOutcome outcome, string method, Func<string, string> asset)
    {
        var html = new StringBuilder($"<h4>{HtmlReport.Escape(method)}</h4>");
        var cells = outcome.Results.Where(r => r.Cell.Method == method).ToArray();
        var levels = cells.Select(r => r.Cell.Level).Distinct().Order().ToArray();
        foreach (var mode in SweepMode.All)
        {
            var modeCells = cells.Where(r => r.Cell.Mode == mode).ToArray();
            if (modeCells.Length == 0) continue;
            var rows = modeCells.Select(r => r.Cell.Layer).Distinct().Order().ToArray();
            string png = $"sweep_{Safe(method)}_{mode}.png";
            var matrix = torch.full(rows.Length, levels.Length, double.NaN, dtype: torch.ScalarType.Float64);
            foreach (var r in modeCells) matrix[Array.IndexOf(rows, r.Cell.Layer), Array.IndexOf(levels, r.Cell.Level)] = r.LatentRelativeL2;
            Heatmap.Write(asset(png), matrix, cell: Heatmap.CellFor(rows.Length, levels.Length, 192));
            string what = mode switch
            {
                SweepMode.Single => "only this layer sparsified",
                SweepMode.LeaveOneOut => "every layer but this one sparsified",
                _ => "every layer but the K most sensitive (single-layer sweep) sparsified",
            };
            html.Append($"<h5>{mode}: {what}</h5>");
            html.Append(HtmlReport.Figure("sparsity/" + png, $"latent relative L2 (dark 0 … bright {modeCells.Max(r => r.LatentRelativeL2):G3}); rows: {(mode == SweepMode.Uniform ? "K" : "layer")}, columns: level {string.Join(", ", levels)}"));
            html.Append(HtmlReport.Table(
                new[] { mode == SweepMode.Uniform ? "K dense" : "layer" }.Concat(levels.Select(l => $"level {l}: rel L2 / PSNR / SSIM / density{(outcome.DenseAccuracy is null ? "" : " / acc")}")),
                rows.Select(row => new[] { row.ToString() }.Concat(levels.Select(l =>
                    modeCells.FirstOrDefault(r => r.Cell.Layer == row && r.Cell.Level == l) is { } c ? Describe(c) : "–")))));
        }
        var single = cells.Where(r => r.Cell.Mode == SweepMode.Single).ToArray();
        if (single.Length > 0) html.Append(SparseButSensitive(outcome, method, single, asset));
        return html.ToString();
    }

    /// <summary>
    /// Coverage@0.9 against the single-layer degradation per layer; a layer is flagged "looks sparse, is sensitive" when
    /// its coverage is at or below the median of the swept layers and its degradation above the median.
    /// </summary>
    private static string SparseButSensitive(SweepOutcome outcome, string method, SweepCellResult[] single, Func<string, string> asset)
    {
        var ranking = SensitivityRanking.Rank(single, method);
        var points = ranking.Select(x => (x.Layer, Coverage: outcome.Profile.Sites[x.Layer].At(0.9), x.Score)).OrderBy(p => p.Layer).ToArray();
        double coverageMedian = Median(points.Select(p => p.Coverage)), scoreMedian = Median(points.Select(p => p.Score));
        string png = $"coverage_vs_degradation_{Safe(method)}.png";
        var plot = new RasterPlot(points.Min(p => p.Coverage), points.Max(p => p.Coverage), 0, points.Max(p => p.Score));
        foreach (var p in points)
        {
            bool flagged = p.Coverage <= coverageMedian && p.Score > scoreMedian;
            plot.Marker(p.Coverage, p.Score, flagged ? RasterPlot.Palette[3] : RasterPlot.Palette[0], 4);
        }
        plot.Save(asset(png));
        var html = new StringBuilder("<h5>Looks sparse vs can be sparsified</h5>");
        html.Append(HtmlReport.Figure("sparsity/" + png,
            $"x: coverage@0.9 ({Range(points.Select(p => p.Coverage))}), y: mean latent rel L2 of the single-layer sweep (0 … {points.Max(p => p.Score):G3}); red: looks sparse (coverage ≤ median) yet sensitive (error > median)"));
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

    private static void WriteCoveragePlot(string path, SparsityProfile profile)
    {
        var sites = profile.Sites;
        var all = sites.SelectMany(s => s.FractionByLevel).Where(double.IsFinite).DefaultIfEmpty(0).ToArray();
        var plot = new RasterPlot(0, Math.Max(1, sites.Count - 1), 0, Math.Max(all.Max(), 1e-6));
        for (int l = 0; l < EntropyCoverage.Levels.Length; l++)
            plot.Line(sites.Select(s => ((double)s.Layer, s.FractionByLevel[l])).ToArray(), RasterPlot.Palette[l]);
        plot.Save(path);
    }

    private static string Range(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).DefaultIfEmpty(0).ToArray();
        return $"{v.Min().ToString("G3", CultureInfo.InvariantCulture)} … {v.Max().ToString("G3", CultureInfo.InvariantCulture)}";
    }

    private static double Median(IEnumerable<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static string Safe(string s) => new(s.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
}
