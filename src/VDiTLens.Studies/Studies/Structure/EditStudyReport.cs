using System.Globalization;
using System.Text;
using System.Text.Json;
using VDiTLens.Reports;
using VDiTLens.Reports.Charts;
using VDiTLens.Statistics;

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

    /// <summary>The measures a study used: the clip or scene evaluator's (by <see cref="EditStudyOptions.Evaluator"/>) and the generic ones.</summary>
    public static IReadOnlyList<string> Measures(EditStudyOptions options) =>
        (options.Evaluator switch
        {
            EditEvaluator.Clips => new[] { "procedural evaluator: trajectory distance, SSIM, frame-difference correlation, adherence" },
            EditEvaluator.Scenes => new[] { "scene evaluator: per-object trajectory distance, attribute change, others unchanged, camera" },
            _ => Array.Empty<string>(),
        }).Concat(EditFidelity.Names).ToList();

    /// <summary>
    /// Writes the summary files and the report section: per-band means over the development seeds (the data the band is
    /// chosen on), the chosen band on the held-out seeds with intervals (<see cref="EditSelection"/>) and the per-sample rows.
    /// </summary>
    public static void Write(HtmlReport report, EditStudyOptions options, IReadOnlyList<EditStudyCell> cells, string model)
    {
        var selection = EditSelection.Of(cells, options);
        var devCells = cells.Where(c => options.DevSeeds.Contains(c.Seed)).ToList();
        var bands = EditBandSummary.Of(devCells);
        var measures = Measures(options);
        bool evaluate = options.Evaluator == EditEvaluator.Clips;
        File.WriteAllText(report.Asset($"{Folder}/summary.json"), JsonSerializer.Serialize(new
        {
            model, dev_seeds = options.DevSeeds, test_seeds = options.TestSeeds, target_noise = options.TargetNoise.ToString().ToLowerInvariant(),
            evaluator = options.Evaluator.ToString().ToLowerInvariant(), tolerance_pixels = options.TolerancePixels,
            steps = options.Steps, guidance = options.Guidance, band = options.Band, pairs = options.Pairs,
            transfer_text = options.TransferText, measures, selection, bands, cells,
        }, EditStudy.Json));
        File.WriteAllText(report.Asset($"{Folder}/samples.csv"), EditStudyTables.Samples(cells, options));
        File.WriteAllText(report.Asset($"{Folder}/heldout.csv"), EditStudyTables.HeldOut(selection));
        if (options.Evaluator == EditEvaluator.Scenes) File.WriteAllText(report.Asset($"{Folder}/scene_objects.csv"), EditStudyTables.SceneObjects(cells, options));
        var csv = new StringBuilder("band,first_layer,last_layer,cells,trajectory_distance,ssim,frame_diff_corr,adherence,baseline_trajectory_distance,baseline_ssim,baseline_frame_diff_corr,baseline_adherence," +
                                    "psnr_to_source,ms_ssim_to_source,psnr_to_target,ms_ssim_to_target,baseline_psnr_to_source,baseline_ms_ssim_to_source\n");
        foreach (var b in bands)
            csv.AppendLine(string.Join(",", new[] { b.Band, b.FirstLayer.ToString(CultureInfo.InvariantCulture), b.LastLayer.ToString(CultureInfo.InvariantCulture), b.Cells.ToString(CultureInfo.InvariantCulture) }
                .Concat(new[] { b.TrajectoryDistance, b.Ssim, b.FrameDifferenceCorrelation, b.Adherence, b.BaselineTrajectoryDistance, b.BaselineSsim, b.BaselineFrameDifferenceCorrelation, b.BaselineAdherence,
                        b.PsnrToSource, b.MsSsimToSource, b.PsnrToTarget, b.MsSsimToTarget, b.BaselinePsnrToSource, b.BaselineMsSsimToSource }
                    .Select(CsvNumber.Of))));
        File.WriteAllText(report.Asset($"{Folder}/summary.csv"), csv.ToString());

        var html = new StringBuilder();
        html.Append(SelectionHtml(selection, options));
        html.Append($"<p>Per-band tables and plots below: development seeds {string.Join(",", options.DevSeeds)} only. Model <code>{HtmlReport.Escape(model)}</code>, {options.Steps} steps, guidance {EditReport.F(options.Guidance)}; " +
                    $"maps of the attention among the video tokens (self-attention, or joint attention{(options.TransferText ? " with its text tokens" : " with the text tokens left alone")}) of one band of {options.Band} block(s) transferred from source to target (heads {(options.Heads.Count == 0 ? "all" : string.Join(",", options.Heads))}, " +
                    $"steps {options.MinStep?.ToString() ?? "0"}..{options.MaxStep?.ToString() ?? "end"}, branches {(options.Branches.Count == 0 ? "all" : string.Join(",", options.Branches))}). " +
                    "Preservation: edited vs source; baseline: target generated without transfer vs source" +
                    (evaluate ? ". Adherence: share of the changed attributes (colour/shape) the evaluator reads as the target's" : "") +
                    $". Measures used: {HtmlReport.Escape(string.Join("; ", measures))}" +
                    (options.Evaluator == EditEvaluator.None ? " (the procedural evaluator reads only models trained on procedural clips, so it was not used)" : "") + ".</p>");
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
        if (layered.Count > 0 && evaluate)
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
        if (evaluate)
            html.Append(HtmlReport.Table(
                new[] { "band", "cells", "traj. dist (px)", "SSIM", "frame-diff corr", "adherence", "no-transfer traj. dist", "no-transfer SSIM", "no-transfer frame-diff corr", "no-transfer adherence" },
                bands.Select(b => new[] { b.Band, b.Cells.ToString(CultureInfo.InvariantCulture) }.Concat(
                    new[] { b.TrajectoryDistance, b.Ssim, b.FrameDifferenceCorrelation, b.Adherence, b.BaselineTrajectoryDistance, b.BaselineSsim, b.BaselineFrameDifferenceCorrelation, b.BaselineAdherence }
                        .Select(EditReport.F)))));
        html.Append("<div>").Append(string.Concat(bands.Select(b => File.Exists(Path.Combine(report.Folder, Folder, "run", "cells", $"{b.Band}_pair0_seed{options.DevSeeds[0]}.png"))
            ? HtmlReport.Figure($"{Folder}/run/cells/{b.Band}_pair0_seed{options.DevSeeds[0]}.png", $"{b.Band}, pair 0, seed {options.DevSeeds[0]}: source / target / edited", 300) : ""))).Append("</div>");
        html.Append($"<p>Data: <a href=\"{Folder}/summary.json\">summary.json</a>, <a href=\"{Folder}/summary.csv\">summary.csv</a> (development seeds), " +
                    $"<a href=\"{Folder}/samples.csv\">samples.csv</a> (every sample), <a href=\"{Folder}/heldout.csv\">heldout.csv</a>" +
                    (options.Evaluator == EditEvaluator.Scenes ? $", <a href=\"{Folder}/scene_objects.csv\">scene_objects.csv</a>" : "") + $", per-cell JSON in {Folder}/run/cells/.</p>");
        report.WriteSection(22, "edit-study", "Per-layer attention-map transfer", html.ToString());
    }

    private static string SelectionHtml(EditSelection selection, EditStudyOptions o)
    {
        var html = new StringBuilder();
        html.Append($"<p>Primary measure: {HtmlReport.Escape(selection.Measure)}; tolerance {EditReport.F(o.TolerancePixels)} px. Target noise: {o.TargetNoise.ToString().ToLowerInvariant()}. " +
                    $"The band is chosen on development seeds {string.Join(",", o.DevSeeds)} (highest mean score; ties: lower trajectory distance) and reported on held-out seeds {string.Join(",", o.TestSeeds)} only; " +
                    "control arm: the target generated without transfer from the same noise as the edited row; intervals: percentile bootstrap over (pair, seed) samples.</p>");
        html.Append(HtmlReport.Table(new[] { "band (development seeds)", "samples", "score", "no-transfer score", "trajectory distance (px)" },
            selection.Development.Select(b => new[] { b.Band == selection.Chosen ? $"{b.Band} (chosen)" : b.Band, b.Samples.ToString(CultureInfo.InvariantCulture),
                EditReport.F(b.Score), EditReport.F(b.BaselineScore), EditReport.F(b.Distance) })));
        if (selection.Test is { } t)
        {
            static string E(Estimate e) => $"{EditReport.F(e.Value)} [{EditReport.F(e.Low)}, {EditReport.F(e.High)}] (n = {e.N})";
            html.Append(HtmlReport.Table(new[] { $"band {t.Band}, held-out seeds", "edited", "no transfer", "edited − no transfer" },
                new[]
                {
                    new[] { "score", E(t.Score), E(t.BaselineScore), E(t.ScoreDifference) },
                    new[] { "trajectory distance (px)", E(t.Distance), E(t.BaselineDistance), E(t.DistanceDifference) },
                }));
            html.Append(HtmlReport.Table(new[] { "pairs changing", "held-out samples", "score", "no-transfer score" },
                t.ByKind.Select(k => new[] { k.Changes, k.Samples.ToString(CultureInfo.InvariantCulture), EditReport.F(k.Score), EditReport.F(k.BaselineScore) })));
        }
        else html.Append("<p>No band has a score on the development seeds yet, so none is chosen.</p>");
        return html.ToString();
    }
}
