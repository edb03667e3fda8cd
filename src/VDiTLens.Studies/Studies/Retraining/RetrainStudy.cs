using VDiTLens.Pipelines;
using VDiTLens.Reports;
using VDiTLens.Reports.Charts;
using VDiTLens.Runtime;
using VDiTLens.Studies.Sinks;

namespace VDiTLens.Studies.Retraining;

/// <summary>Sinks and sparsity sensitivity of one model, as the before/after comparison reports them.</summary>
public sealed record RetrainMeasurement(IReadOnlyList<SiteSinks> Sites, OutputSummary Sparsified, double SelfSinkMass, double SelfPeakRatio);

/// <summary>
/// What <see cref="RetrainStudy.Run"/> produced: the saved student folder, both measurements, the student's dense
/// fidelity to the teacher (its generations against the teacher's, same prompts and seeds, no intervention) and the
/// comparison rows (metric, original, retrained).
/// </summary>
public sealed record RetrainOutcome(string StudentFolder, RetrainMeasurement Before, RetrainMeasurement After, OutputSummary Fidelity, IReadOnlyList<string[]> Rows);

/// <summary>
/// The retraining study: train re-initialised blocks (resuming from the work folder's checkpoint), save the student
/// pipeline, then measure sinks and one sparsifier's sensitivity on both models with the same generations
/// (<paramref name="compare"/>, whose prompts should be held out of the training pool), the student's dense fidelity to
/// the teacher on them, and write the report's "retrain" section.
/// </summary>
public static class RetrainStudy
{
    public const string PoolStage = "distillation pool", TrainingStage = "training";

    public static RetrainOutcome Run(ITextToVideoPipeline teacher, RetrainOptions options, SinkStudyOptions compare, string workFolder, HtmlReport report,
        ComputeOptions compute, IProgress<SinkStudyProgress>? progress = null)
    {
        string saved = Path.Combine(workFolder, "pipeline");
        using (var retrainer = new BlockRetrainer(teacher, options, workFolder, Adapt(progress, PoolStage)))
        {
            retrainer.Train(progress is null ? null : new Reporter<RetrainProgress>(p => progress.Report(new SinkStudyProgress(TrainingStage, p.Step, p.Total))));
            retrainer.SavePipeline(saved);
            WriteLoss(report, retrainer.Losses, options.Target);
        }
        using var student = TextToVideoPipelines.Load(saved, compute);
        var teacherRuns = new List<ProbedRun>();
        try
        {
            var before = Measure(teacher, compare, Relabel(progress, "original"), teacherRuns);
            OutputSummary? fidelity = null;
            var after = Measure(student, compare, Relabel(progress, "retrained"), onBaselines: runs =>
                fidelity = OutputSummary.Of("retrained vs original (dense)",
                    runs.Zip(teacherRuns).Select(p => OutputComparison.Compare(p.First, p.Second, compare.SpecOf(p.First.Run / compare.Seeds.Count))).ToList()));
            var rows = WriteComparison(report, options, before, after, fidelity!, teacher.Transformer, compare.Prompts, workFolder);
            return new RetrainOutcome(saved, before, after, fidelity!, rows);
        }
        finally
        {
            foreach (var r in teacherRuns) r.Dispose();
        }
    }

    /// <summary>
    /// Sink detection and the sparsified temperature point (<see cref="SinkStudyOptions.Sparsify"/> is required).
    /// The dense baseline runs are handed to <paramref name="keep"/> (the caller's to dispose) or to
    /// <paramref name="onBaselines"/> before they are disposed.
    /// </summary>
    public static RetrainMeasurement Measure(ITextToVideoPipeline pipeline, SinkStudyOptions options, IProgress<SinkStudyProgress>? progress = null,
        List<ProbedRun>? keep = null, Action<IReadOnlyList<ProbedRun>>? onBaselines = null)
    {
        if (options.Sparsify is null) throw new VDiTLensException("the retrain comparison needs a sparsifier (Sparsify, e.g. bottom_k:0.5)");
        var study = new SinkStudy(pipeline, options) { Progress = progress };
        var baselines = study.MeasureBaselines();
        try
        {
            var detection = SinkAnalysis.Analyse(baselines, pipeline.Transformer.Sites, options.Criteria);
            var sparse = study.SweepTemperature(baselines, detection).Single(p => p.Sparsified && p.Tau == 1.0);
            var self = detection.Aggregate.Where(s => s.Kind is "self" or "joint").ToList();
            onBaselines?.Invoke(baselines);
            return new RetrainMeasurement(detection.Aggregate, sparse.Output, self.Average(s => s.SinkMass), self.Max(s => s.PeakRatio));
        }
        finally
        {
            if (keep is null)
                foreach (var b in baselines) b.Dispose();
            else keep.AddRange(baselines);
        }
    }

    /// <summary>What the loss of <paramref name="target"/> measures.</summary>
    public static string LossName(DistillationTarget target) => target == DistillationTarget.Data
        ? "mean squared error of the denoising objective on the original's samples"
        : "‖student − teacher‖² / ‖teacher‖²";

    private static void WriteLoss(HtmlReport report, IReadOnlyList<double> losses, DistillationTarget target)
    {
        int buckets = Math.Min(100, losses.Count);
        if (buckets == 0) return;
        var means = Enumerable.Range(0, buckets).Select(i => losses.Skip(i * losses.Count / buckets).Take(Math.Max(1, losses.Count / buckets)).Average()).ToArray();
        File.WriteAllLines(report.Asset("retrain/loss.csv"), means.Select((m, i) => $"{i},{m.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)}").Prepend("bucket,mean_loss"));
        var chart = LineChart.Render(new LineChartSpec
        {
            Title = "Training loss", XTitle = $"training progress (bucket of {Math.Max(1, losses.Count / buckets)} steps)", YTitle = LossName(target),
            Series = new[] { new LineSeries("mean loss", means.Select((_, i) => (double)i).ToArray(), means) { Markers = buckets <= 30 } },
            YMin = 0, IntegerX = true,
        });
        report.Chart("retrain/loss.svg", chart, "training loss during retraining", new DataLink("CSV", "retrain/loss.csv"));
    }

    private static IReadOnlyList<string[]> WriteComparison(HtmlReport report, RetrainOptions options, RetrainMeasurement before, RetrainMeasurement after,
        OutputSummary fidelity, Models.Common.IVideoTransformer model, IReadOnlyList<string> measured, string work)
    {
        string F(double x) => SinkReportWriter.Format(x);
        var rows = new List<string[]>
        {
            new[] { "self/joint-attention sink mass (mean over sites)", F(before.SelfSinkMass), F(after.SelfSinkMass) },
            new[] { "self-attention peak ratio (max over sites)", F(before.SelfPeakRatio), F(after.SelfPeakRatio) },
        };
        foreach (int b in options.Blocks)
        {
            if (Models.Common.BlockAttention.Of(model, b) is not { } site) continue;
            var x = before.Sites.FirstOrDefault(s => s.Site == site.Name);
            var y = after.Sites.FirstOrDefault(s => s.Site == site.Name);
            if (x is null || y is null) continue;
            rows.Add(new[] { $"{site.Name} sink mass", F(x.SinkMass), F(y.SinkMass) });
            rows.Add(new[] { $"{site.Name} peak ratio", F(x.PeakRatio), F(y.PeakRatio) });
        }
        string s = before.Sparsified.Condition;
        rows.Add(new[] { $"{s}: latent rel. error vs dense", F(before.Sparsified.LatentRelativeError), F(after.Sparsified.LatentRelativeError) });
        rows.Add(new[] { $"{s}: PSNR dB vs dense", F(before.Sparsified.Psnr), F(after.Sparsified.Psnr) });
        rows.Add(new[] { $"{s}: SSIM vs dense", F(before.Sparsified.Ssim), F(after.Sparsified.Ssim) });
        if (before.Sparsified.AttributeAccuracy is { } a && after.Sparsified.AttributeAccuracy is { } c)
            rows.Add(new[] { $"{s}: attribute accuracy", F(a), F(c) });
        rows.Add(new[] { "dense fidelity to the original: latent rel. error", "0", F(fidelity.LatentRelativeError) });
        rows.Add(new[] { "dense fidelity to the original: PSNR dB", "∞", F(fidelity.Psnr) });
        rows.Add(new[] { "dense fidelity to the original: SSIM", "1", F(fidelity.Ssim) });
        string dir = Path.GetDirectoryName(report.Asset("retrain/x"))!;
        SinkReportWriter.WriteCsv(Path.Combine(dir, "before_after.csv"), new[] { "metric", "original", "retrained" }, rows);
        SinkReportWriter.WriteJson(Path.Combine(dir, "before_after.json"), new { options, before, after, fidelity });
        report.WriteSection(45, "retrain", $"Retraining blocks {string.Join(", ", options.Blocks.Select(b => model.Hooks.Names[b]))} {(options.Expert == Attention.AttentionRunState.MainExpert ? "" : $" of {options.Expert}")} from scratch ({options.Scope}, target {options.Target})",
            $"<p>Work folder: {HtmlReport.Escape(work)}</p>" + HtmlReport.Table(new[] { "metric", "original", "retrained" }, rows)
            + $"<p>Measured on {measured.Count} prompt(s), {(measured.Any(options.Prompts.Contains) ? "some of them in the training pool" : "all held out of the training pool")}: "
            + HtmlReport.Escape(string.Join("; ", measured)) + "</p>"
            + HtmlReport.Figure("retrain/loss.svg", $"training loss ({LossName(options.Target)}), left to right"));
        return rows;
    }

    private static IProgress<(int Done, int Total)>? Adapt(IProgress<SinkStudyProgress>? progress, string stage) =>
        progress is null ? null : new Reporter<(int Done, int Total)>(p => progress.Report(new SinkStudyProgress(stage, p.Done, p.Total)));

    private static IProgress<SinkStudyProgress>? Relabel(IProgress<SinkStudyProgress>? progress, string model) =>
        progress is null ? null : new Reporter<SinkStudyProgress>(p => progress.Report(p with { Stage = $"{model}: {p.Stage}" }));

    private sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
