using System.Globalization;
using System.Text;
using System.Text.Json;
using VDiTLens.Reports;
using VDiTLens.Reports.Charts;

namespace VDiTLens.Studies.Structure;

/// <summary>Per-band means of an edit study's cells (NaN-skipping; the evaluator's measures are NaN where it was not used).</summary>
public sealed record EditBandSummary(string Band, int FirstLayer, int LastLayer, int Cells,
    double TrajectoryDistance, double Ssim, double FrameDifferenceCorrelation, double Adherence,
    double BaselineTrajectoryDistance, double BaselineSsim, double BaselineFrameDifferenceCorrelation, double BaselineAdherence,
    double PsnrToSource, double MsSsimToSource, double PsnrToTarget, double MsSsimToTarget, double BaselinePsnrToSource, double BaselineMsSsimToSource)
{
    public static IReadOnlyList<EditBandSummary> Of(IEnumerable<EditStudyCell> cells) => cells
        .GroupBy(c => c.Band)
        .Select(g =>
        {
            double Mean<T>(IEnumerable<T> items, Func<T, double> f)
            {
                var v = items.Select(f).Where(double.IsFinite).ToList();
                return v.Count == 0 ? double.NaN : v.Average();
            }
            var m = g.Where(c => c.Metrics is not null).Select(c => c.Metrics!).ToList();
            var f = g.Select(c => c.Fidelity).ToList();
            var first = g.First();
            return new EditBandSummary(g.Key, first.FirstLayer, first.LastLayer, g.Count(),
                Mean(m, x => x.EditedTrajectoryDistance), Mean(m, x => x.EditedSsim), Mean(m, x => x.EditedFrameDifferenceCorrelation), Mean(m, x => x.EditedAdherence),
                Mean(m, x => x.TargetTrajectoryDistance), Mean(m, x => x.TargetSsim), Mean(m, x => x.TargetFrameDifferenceCorrelation), Mean(m, x => x.TargetAdherence),
                Mean(f, x => x.EditedToSourcePsnr), Mean(f, x => x.EditedToSourceMsSsim), Mean(f, x => x.EditedToTargetPsnr), Mean(f, x => x.EditedToTargetMsSsim),
                Mean(f, x => x.TargetToSourcePsnr), Mean(f, x => x.TargetToSourceMsSsim));
        })
        .OrderBy(b => b.Band == "all" ? 1 : 0).ThenBy(b => b.FirstLayer)
        .ToList();
}

/// <summary>Writes the edit study's summary (JSON, CSV), line plots against layer and the report section.</summary>
public static class EditStudyReport
{
    public const string Folder = "edit-study";

    /// <summary>The measures a study used: the procedural evaluator's (when <see cref="EditStudyOptions.Evaluate"/>) and the generic ones.</summary>
    public static IReadOnlyList<string> Measures(EditStudyOptions options) =>
        (options.Evaluate ? new[] { "procedural evaluator: trajectory distance, SSIM, frame-difference correlation, adherence" } : Array.Empty<string>())
        .Concat(EditFidelity.Names).ToList();

    public static void Write(HtmlReport report, EditStudyOptions options, IReadOnlyList<EditStudyCell> cells, string model)
    {
        var bands = EditBandSummary.Of(cells);
        var measures = Measures(options);
        File.WriteAllText(report.Asset($"{Folder}/summary.json"), JsonSerializer.Serialize(new
        {
            model, seed = options.Seed, steps = options.Steps, guidance = options.Guidance, band = options.Band, pairs = options.Pairs,
            transfer_text = options.TransferText, measures, bands, cells,
        }, EditStudy.Json));
        var csv = new StringBuilder("band,first_layer,last_layer,cells,trajectory_distance,ssim,frame_diff_corr,adherence,baseline_trajectory_distance,baseline_ssim,baseline_frame_diff_corr,baseline_adherence," +
                                    "psnr_to_source,ms_ssim_to_source,psnr_to_target,ms_ssim_to_target,baseline_psnr_to_source,baseline_ms_ssim_to_source\n");
        foreach (var b in bands)
            csv.AppendLine(string.Join(",", new[] { b.Band, b.FirstLayer.ToString(CultureInfo.InvariantCulture), b.LastLayer.ToString(CultureInfo.InvariantCulture), b.Cells.ToString(CultureInfo.InvariantCulture) }
                .Concat(new[] { b.TrajectoryDistance, b.Ssim, b.FrameDifferenceCorrelation, b.Adherence, b.BaselineTrajectoryDistance, b.BaselineSsim, b.BaselineFrameDifferenceCorrelation, b.BaselineAdherence,
                        b.PsnrToSource, b.MsSsimToSource, b.PsnrToTarget, b.MsSsimToTarget, b.BaselinePsnrToSource, b.BaselineMsSsimToSource }
                    .Select(CsvNumber.Of))));
        File.WriteAllText(report.Asset($"{Folder}/summary.csv"), csv.ToString());

        var html = new StringBuilder();
        html.Append($"<p>Model <code>{HtmlReport.Escape(model)}</code>, seed {options.Seed}, {options.Steps} steps, guidance {EditReport.F(options.Guidance)}; " +
                    $"maps of the attention among the video tokens (self-attention, or joint attention{(options.TransferText ? " with its text tokens" : " with the text tokens left alone")}) of one band of {options.Band} block(s) transferred from source to target (heads {(options.Heads.Count == 0 ? "all" : string.Join(",", options.Heads))}, " +
                    $"steps {options.MinStep?.ToString() ?? "0"}..{options.MaxStep?.ToString() ?? "end"}, branches {(options.Branches.Count == 0 ? "all" : string.Join(",", options.Branches))}). " +
                    "Preservation: edited vs source; baseline: target generated without transfer vs source" +
                    (options.Evaluate ? ". Adherence: share of the changed attributes (colour/shape) the evaluator reads as the target's" : "") +
                    $". Measures used: {HtmlReport.Escape(string.Join("; ", measures))}" +
                    (options.Evaluate ? "" : " (the procedural evaluator reads only models trained on procedural clips, so it was not used)") + ".</p>");
        html.Append("<ul>").Append(string.Concat(options.Pairs.Select((p, i) => $"<li>pair {i} ({HtmlReport.Escape(p.Changes)}): {HtmlReport.Escape(p.Source)} → {HtmlReport.Escape(p.Target)}</li>"))).Append("</ul>");
        var layered = bands.Where(b => b.Band != "all").ToList();
        var data = new[] { new DataLink("CSV", $"{Folder}/summary.csv"), new DataLink("JSON", $"{Folder}/summary.json") };
        if (layered.Count > 0)
        {
            var x = layered.Select(b => (double)b.FirstLayer).ToList();
            LineSeries Series(string name, Func<EditBandSummary, double> value, int colour, bool dashed = false) =>
                new(name, x, layered.Select(value).ToList()) { Colour = Colormap.Series[colour], Dashed = dashed };
            html.Append(report.Chart($"{Folder}/ms_ssim.svg", LineChart.Render(new LineChartSpec
            {
                Title = "MS-SSIM of the edited video by transferred band", XTitle = "first block of the band", YTitle = "MS-SSIM",
                Series = new[]
                {
                    Series("to source", b => b.MsSsimToSource, 0), Series("to target", b => b.MsSsimToTarget, 2),
                    Series("target to source, no transfer", b => b.BaselineMsSsimToSource, 0, true),
                },
                YMin = Math.Min(0, layered.SelectMany(b => new[] { b.MsSsimToSource, b.MsSsimToTarget, b.BaselineMsSsimToSource }).Where(double.IsFinite).DefaultIfEmpty(0).Min()), YMax = 1, IntegerX = true,
            }), "solid: edited video; dashed: the target generated without transfer, against the source", data));
        }
        if (layered.Count > 0 && options.Evaluate)
        {
            var x = layered.Select(b => (double)b.FirstLayer).ToList();
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
                Title = "Preservation and adherence by transferred band", XTitle = "first block of the band", YTitle = "score (1 = identical / all adhered)",
                Series = unit, YMin = low, YMax = 1, IntegerX = true,
            }), "solid: with map transfer; dashed: target generated without transfer", data));
            var distance = new[]
            {
                Series("trajectory distance to source", b => b.TrajectoryDistance, 3), Series("no transfer", b => b.BaselineTrajectoryDistance, 3, true),
            };
            html.Append(report.Chart($"{Folder}/trajectory_distance.svg", LineChart.Render(new LineChartSpec
            {
                Title = "Motion preservation by transferred band", XTitle = "first block of the band", YTitle = "trajectory distance (px)",
                Series = distance, YMin = 0, IntegerX = true,
            }), "mean distance between the edited and the source object trajectories", data));
        }
        html.Append(HtmlReport.Table(
            new[] { "band", "cells", "PSNR to source (dB)", "MS-SSIM to source", "PSNR to target (dB)", "MS-SSIM to target", "no-transfer PSNR to source", "no-transfer MS-SSIM to source" },
            bands.Select(b => new[] { b.Band, b.Cells.ToString(CultureInfo.InvariantCulture) }.Concat(
                new[] { b.PsnrToSource, b.MsSsimToSource, b.PsnrToTarget, b.MsSsimToTarget, b.BaselinePsnrToSource, b.BaselineMsSsimToSource }.Select(EditReport.F)))));
        if (options.Evaluate)
            html.Append(HtmlReport.Table(
                new[] { "band", "cells", "traj. dist (px)", "SSIM", "frame-diff corr", "adherence", "no-transfer traj. dist", "no-transfer SSIM", "no-transfer frame-diff corr", "no-transfer adherence" },
                bands.Select(b => new[] { b.Band, b.Cells.ToString(CultureInfo.InvariantCulture) }.Concat(
                    new[] { b.TrajectoryDistance, b.Ssim, b.FrameDifferenceCorrelation, b.Adherence, b.BaselineTrajectoryDistance, b.BaselineSsim, b.BaselineFrameDifferenceCorrelation, b.BaselineAdherence }
                        .Select(EditReport.F)))));
        html.Append("<div>").Append(string.Concat(bands.Select(b => File.Exists(Path.Combine(report.Folder, Folder, "run", "cells", $"{b.Band}_pair0.png"))
            ? HtmlReport.Figure($"{Folder}/run/cells/{b.Band}_pair0.png", $"{b.Band}, pair 0: source / target / edited", 300) : ""))).Append("</div>");
        html.Append($"<p>Data: <a href=\"{Folder}/summary.json\">summary.json</a>, <a href=\"{Folder}/summary.csv\">summary.csv</a>, per-cell JSON in {Folder}/run/cells/.</p>");
        report.WriteSection(22, "edit-study", "Per-layer attention-map transfer", html.ToString());
    }
}
