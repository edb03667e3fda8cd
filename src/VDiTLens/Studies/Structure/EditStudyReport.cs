using System.Globalization;
using System.Text;
using System.Text.Json;
using VDiTLens.Reports;

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
            var unit = new List<LineSeries>
            {
                new("SSIM vs source", layered.Select(b => b.Ssim).ToList(), LineChart.Colours[0]),
                new("frame-diff corr vs source", layered.Select(b => b.FrameDifferenceCorrelation).ToList(), LineChart.Colours[1]),
                new("target adherence", layered.Select(b => b.Adherence).ToList(), LineChart.Colours[2]),
                new("SSIM, no transfer", layered.Select(b => b.BaselineSsim).ToList(), LineChart.Colours[0], Dashed: true),
                new("frame-diff corr, no transfer", layered.Select(b => b.BaselineFrameDifferenceCorrelation).ToList(), LineChart.Colours[1], Dashed: true),
                new("adherence, no transfer", layered.Select(b => b.BaselineAdherence).ToList(), LineChart.Colours[2], Dashed: true),
            };
            double low = Math.Min(0, unit.SelectMany(s => s.Y).Where(double.IsFinite).DefaultIfEmpty(0).Min());
            LineChart.Write(report.Asset($"{Folder}/preservation_adherence.png"), x, unit, low, 1);
            html.Append(HtmlReport.Figure($"{Folder}/preservation_adherence.png", $"x: first layer of the band ({x.Min()}…{x.Max()}); y: {EditReport.F(low)}…1"))
                .Append("<p>").Append(LineChart.Legend(unit)).Append("</p>");
            var distance = new List<LineSeries>
            {
                new("trajectory distance to source (px)", layered.Select(b => b.TrajectoryDistance).ToList(), LineChart.Colours[3]),
                new("no transfer", layered.Select(b => b.BaselineTrajectoryDistance).ToList(), LineChart.Colours[3], Dashed: true),
            };
            double high = Math.Max(1, distance.SelectMany(s => s.Y).Where(double.IsFinite).DefaultIfEmpty(1).Max());
            LineChart.Write(report.Asset($"{Folder}/trajectory_distance.png"), x, distance, 0, high);
            html.Append(HtmlReport.Figure($"{Folder}/trajectory_distance.png", $"x: first layer of the band; y: 0…{EditReport.F(high)} pixels"))
                .Append("<p>").Append(LineChart.Legend(distance)).Append("</p>");
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
