using System.Globalization;
using System.Text;
using System.Text.Json;
using VDiTLens.Reports;
using VDiTLens.Reports.Charts;

namespace VDiTLens.Studies.Structure;

/// <summary>Per-band means of an edit study's cells (NaN-skipping).</summary>
public sealed record EditBandSummary(string Band, int FirstLayer, int LastLayer, int Cells,
    double TrajectoryDistance, double Ssim, double FrameDifferenceCorrelation, double Adherence,
    double BaselineTrajectoryDistance, double BaselineSsim, double BaselineFrameDifferenceCorrelation, double BaselineAdherence)
{
    public static IReadOnlyList<EditBandSummary> Of(IEnumerable<EditStudyCell> cells) => cells
        .GroupBy(c => c.Band)
        .Select(g =>
        {
            var m = g.Select(c => c.Metrics).ToList();
            double Mean(Func<EditMetrics, double> f)
            {
                var v = m.Select(f).Where(double.IsFinite).ToList();
                return v.Count == 0 ? double.NaN : v.Average();
            }
            var first = g.First();
            return new EditBandSummary(g.Key, first.FirstLayer, first.LastLayer, m.Count,
                Mean(x => x.EditedTrajectoryDistance), Mean(x => x.EditedSsim), Mean(x => x.EditedFrameDifferenceCorrelation), Mean(x => x.EditedAdherence),
                Mean(x => x.TargetTrajectoryDistance), Mean(x => x.TargetSsim), Mean(x => x.TargetFrameDifferenceCorrelation), Mean(x => x.TargetAdherence));
        })
        .OrderBy(b => b.Band == "all" ? 1 : 0).ThenBy(b => b.FirstLayer)
        .ToList();
}

/// <summary>Writes the edit study's summary (JSON, CSV), line plots against layer and the report section.</summary>
public static class EditStudyReport
{
    public const string Folder = "edit-study";

    public static void Write(HtmlReport report, EditStudyOptions options, IReadOnlyList<EditStudyCell> cells, string model)
    {
        var bands = EditBandSummary.Of(cells);
        File.WriteAllText(report.Asset($"{Folder}/summary.json"), JsonSerializer.Serialize(new
        {
            model, seed = options.Seed, steps = options.Steps, guidance = options.Guidance, band = options.Band, pairs = options.Pairs,
            bands, cells,
        }, EditStudy.Json));
        var csv = new StringBuilder("band,first_layer,last_layer,cells,trajectory_distance,ssim,frame_diff_corr,adherence,baseline_trajectory_distance,baseline_ssim,baseline_frame_diff_corr,baseline_adherence\n");
        foreach (var b in bands)
            csv.AppendLine(string.Join(",", new[] { b.Band, b.FirstLayer.ToString(CultureInfo.InvariantCulture), b.LastLayer.ToString(CultureInfo.InvariantCulture), b.Cells.ToString(CultureInfo.InvariantCulture) }
                .Concat(new[] { b.TrajectoryDistance, b.Ssim, b.FrameDifferenceCorrelation, b.Adherence, b.BaselineTrajectoryDistance, b.BaselineSsim, b.BaselineFrameDifferenceCorrelation, b.BaselineAdherence }
                    .Select(v => double.IsFinite(v) ? v.ToString("G6", CultureInfo.InvariantCulture) : ""))));
        File.WriteAllText(report.Asset($"{Folder}/summary.csv"), csv.ToString());

        var html = new StringBuilder();
        html.Append($"<p>Model <code>{HtmlReport.Escape(model)}</code>, seed {options.Seed}, {options.Steps} steps, guidance {EditReport.F(options.Guidance)}; " +
                    $"self-attention maps of one band of {options.Band} layer(s) transferred from source to target (heads {(options.Heads.Count == 0 ? "all" : string.Join(",", options.Heads))}, " +
                    $"steps {options.MinStep?.ToString() ?? "0"}..{options.MaxStep?.ToString() ?? "end"}, branches {(options.Branches.Count == 0 ? "all" : string.Join(",", options.Branches))}). " +
                    "Preservation: edited vs source; baseline: target generated without transfer vs source. Adherence: share of the changed attributes (colour/shape) the evaluator reads as the target's.</p>");
        html.Append("<ul>").Append(string.Concat(options.Pairs.Select((p, i) => $"<li>pair {i} ({HtmlReport.Escape(p.Changes)}): {HtmlReport.Escape(p.Source)} → {HtmlReport.Escape(p.Target)}</li>"))).Append("</ul>");
        var layered = bands.Where(b => b.Band != "all").ToList();
        if (layered.Count > 0)
        {
            var x = layered.Select(b => (double)b.FirstLayer).ToList();
            var data = new[] { new DataLink("CSV", $"{Folder}/summary.csv"), new DataLink("JSON", $"{Folder}/summary.json") };
            LineSeries Series(string name, Func<EditBandSummary, double> value, int colour, bool dashed = false) =>
                new(name, x, layered.Select(value).ToList()) { Colour = Colormap.Series[colour], Dashed = dashed };
            var unit = new[]
            {
                Series("SSIM vs source", b => b.Ssim, 0), Series("frame-diff corr vs source", b => b.FrameDifferenceCorrelation, 1),
                Series("target adherence", b => b.Adherence, 2), Series("SSIM, no transfer", b => b.BaselineSsim, 0, true),
                Series("frame-diff corr, no transfer", b => b.BaselineFrameDifferenceCorrelation, 1, true),
                Series("adherence, no transfer", b => b.BaselineAdherence, 2, true),
            };
            double low = Math.Min(0, unit.SelectMany(s => s.Y).Where(double.IsFinite).DefaultIfEmpty(0).Min());
            html.Append(report.Chart($"{Folder}/preservation_adherence.svg", LineChart.Render(new LineChartSpec
            {
                Title = "Preservation and adherence by transferred band", XTitle = "first layer of the band", YTitle = "score (1 = identical / all adhered)",
                Series = unit, YMin = low, YMax = 1, IntegerX = true,
            }), "solid: with map transfer; dashed: target generated without transfer", data));
            var distance = new[]
            {
                Series("trajectory distance to source", b => b.TrajectoryDistance, 3), Series("no transfer", b => b.BaselineTrajectoryDistance, 3, true),
            };
            html.Append(report.Chart($"{Folder}/trajectory_distance.svg", LineChart.Render(new LineChartSpec
            {
                Title = "Motion preservation by transferred band", XTitle = "first layer of the band", YTitle = "trajectory distance (px)",
                Series = distance, YMin = 0, IntegerX = true,
            }), "mean distance between the edited and the source object trajectories", data));
        }
        html.Append(HtmlReport.Table(
            new[] { "band", "cells", "traj. dist (px)", "SSIM", "frame-diff corr", "adherence", "no-transfer traj. dist", "no-transfer SSIM", "no-transfer frame-diff corr", "no-transfer adherence" },
            bands.Select(b => new[] { b.Band, b.Cells.ToString(CultureInfo.InvariantCulture) }.Concat(
                new[] { b.TrajectoryDistance, b.Ssim, b.FrameDifferenceCorrelation, b.Adherence, b.BaselineTrajectoryDistance, b.BaselineSsim, b.BaselineFrameDifferenceCorrelation, b.BaselineAdherence }
                    .Select(EditReport.F)))));
        html.Append("<div>").Append(string.Concat(bands.Select(b => File.Exists(Path.Combine(report.Folder, Folder, "cells", $"{b.Band}_pair0.png"))
            ? HtmlReport.Figure($"{Folder}/cells/{b.Band}_pair0.png", $"{b.Band}, pair 0: source / target / edited", 300) : ""))).Append("</div>");
        html.Append($"<p>Data: <a href=\"{Folder}/summary.json\">summary.json</a>, <a href=\"{Folder}/summary.csv\">summary.csv</a>, per-cell JSON in {Folder}/cells/.</p>");
        report.WriteSection(22, "edit-study", "Per-layer attention-map transfer", html.ToString());
    }
}
