using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using VDiTLens.Reports;
using VDiTLens.Studies.Retraining;
using VDiTLens.Studies.Sinks;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens retrain</c>: re-initialise blocks and distil them from the original model, then compare sinks and sparsity sensitivity.</summary>
internal static class RetrainCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var model = new Option<string>("--model") { Description = "WanPipeline folder, the teacher (retrain needs Wan's block hooks: other pipeline classes are refused)", DefaultValueFactory = _ => "models/vditlens-tiny" };
        var blocks = new Option<string>("--blocks") { Description = "blocks to re-initialise and train (comma list)", Required = true };
        var scope = new Option<string>("--scope") { Description = "block (whole blocks) or attention (self-attention only)", DefaultValueFactory = _ => "block" };
        var target = new Option<string>("--target") { Description = "block (each block's output) or final (the model output)", DefaultValueFactory = _ => "block" };
        var trainSteps = new Option<int>("--train-steps") { DefaultValueFactory = _ => 500 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 1e-3 };
        var weightDecay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => 0.0 };
        var checkpointEvery = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => 50 };
        var prompt = new Option<string[]>("--prompt") { Description = "pool prompts (repeat); default: procedural evaluation captions", AllowMultipleArgumentsPerToken = false };
        var promptCount = new Option<int>("--prompt-count") { DefaultValueFactory = _ => 8 };
        var poolSeeds = new Option<int>("--pool-seeds") { DefaultValueFactory = _ => 2 };
        var genSteps = new Option<int>("--steps") { Description = "denoising steps of the pool generations and comparisons", DefaultValueFactory = _ => 20 };
        var guidance = new Option<double>("--guidance") { DefaultValueFactory = _ => 5.0 };
        var frames = new Option<int>("--frames") { DefaultValueFactory = _ => 9 };
        var height = new Option<int>("--height") { DefaultValueFactory = _ => 32 };
        var width = new Option<int>("--width") { DefaultValueFactory = _ => 32 };
        var maxLength = new Option<int>("--max-sequence-length") { DefaultValueFactory = _ => 16 };
        var sparsify = new Option<string>("--compare-sparsify") { Description = "sparsifier of the sensitivity comparison", DefaultValueFactory = _ => "bottom_k:0.5" };
        var ratio = new Option<double>("--ratio") { DefaultValueFactory = _ => 10 };
        var outDir = new Option<string>("--out") { Description = "work folder: pool, checkpoint/, pipeline/ (resumes when it holds a checkpoint)", DefaultValueFactory = _ => "out/retrain" };
        var reportDir = new Option<string>("--report") { DefaultValueFactory = _ => "out/report" };
        var command = new Command("retrain", "Re-initialise blocks (or their attention) and distil them from the original model; compare sinks and sparsity sensitivity");
        foreach (var o in new Option[] { model, blocks, scope, target, trainSteps, lr, weightDecay, checkpointEvery, prompt, promptCount, poolSeeds, genSteps, guidance,
                     frames, height, width, maxLength, sparsify, ratio, outDir, reportDir })
            command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(r =>
        {
            var compute = common.Resolve(r);
            var (prompts, specs) = SinksCommand.Prompts(r.GetValue(prompt), r.GetValue(promptCount));
            var options = new RetrainOptions
            {
                Blocks = SinksCommand.Split(r.GetValue(blocks)).Select(b => int.TryParse(b, out int v) ? v : throw new VDiTLensException($"--blocks: '{b}' is not an integer")).ToArray(),
                Scope = r.GetValue(scope) switch { "block" => RetrainScope.Block, "attention" => RetrainScope.Attention, var s => throw new VDiTLensException($"--scope '{s}': use block or attention") },
                Target = r.GetValue(target) switch { "block" => DistillationTarget.BlockOutputs, "final" => DistillationTarget.FinalOutput, var s => throw new VDiTLensException($"--target '{s}': use block or final") },
                TrainingSteps = r.GetValue(trainSteps), LearningRate = r.GetValue(lr), WeightDecay = r.GetValue(weightDecay),
                CheckpointEvery = r.GetValue(checkpointEvery), Seed = compute.Seed, Prompts = prompts, PoolSeeds = r.GetValue(poolSeeds),
                GenerationSteps = r.GetValue(genSteps), GuidanceScale = r.GetValue(guidance), Frames = r.GetValue(frames), Height = r.GetValue(height),
                Width = r.GetValue(width), MaxSequenceLength = r.GetValue(maxLength),
            };
            string work = r.GetValue(outDir)!, saved = Path.Combine(work, "pipeline");
            using var teacher = StudyDefaults.LoadWan(r.GetValue(model)!, compute, "retrain", "it re-initialises and distils Wan blocks through their block hooks");
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var pool = ctx.AddTask("distillation pool", maxValue: prompts.Count * options.PoolSeeds);
                    using var retrainer = new BlockRetrainer(teacher, options, work, new Progress<(int Done, int Total)>(p => pool.Value = p.Done));
                    pool.Value = pool.MaxValue;
                    var train = ctx.AddTask($"training blocks {string.Join(",", options.Blocks)}", maxValue: options.TrainingSteps);
                    train.Value = retrainer.Step;
                    retrainer.Train(new Progress<RetrainProgress>(p =>
                    {
                        train.Value = p.Step;
                        train.Description = $"training blocks {string.Join(",", options.Blocks)} (loss {p.Loss:G3})";
                    }));
                    retrainer.SavePipeline(saved);
                    WriteLoss(new HtmlReport(r.GetValue(reportDir)!), retrainer.Losses);
                });
            using var student = WanPipeline.Load(saved, compute);
            var compare = new SinkStudyOptions
            {
                Template = new GenerationRequest
                {
                    Steps = options.GenerationSteps, GuidanceScale = options.GuidanceScale, Frames = options.Frames, Height = options.Height,
                    Width = options.Width, MaxSequenceLength = options.MaxSequenceLength,
                },
                Prompts = prompts.Take(4).ToArray(), Specs = specs.Take(4).ToArray(), Seeds = new[] { compute.Seed + 7 },
                Criteria = new SinkCriteria(r.GetValue(ratio)), Sparsify = r.GetValue(sparsify),
            };
            var before = Measure(teacher, compare, "original");
            var after = Measure(student, compare, "retrained");
            WriteComparison(new HtmlReport(r.GetValue(reportDir)!), options, before, after, work);
            AnsiConsole.WriteLine($"wrote {saved} and the retrain section of {Path.Combine(r.GetValue(reportDir)!, "index.html")}");
            return 0;
        });
        return command;
    }

    private sealed record Measured(IReadOnlyList<SiteSinks> Sites, OutputSummary Sparsified, double SelfSinkMass, double SelfPeakRatio);

    private static Measured Measure(WanPipeline pipeline, SinkStudyOptions options, string label)
    {
        Measured result = null!;
        AnsiConsole.Status().Start($"measuring sinks and sparsity sensitivity of the {label} model", _ =>
        {
            var study = new SinkStudy(pipeline, options);
            var baselines = study.MeasureBaselines();
            try
            {
                var detection = SinkAnalysis.Analyse(baselines, pipeline.Transformer.Sites, options.Criteria);
                var sparse = study.SweepTemperature(baselines, detection).Single(p => p.Sparsified);
                var self = detection.Aggregate.Where(s => s.Kind == "self").ToList();
                result = new Measured(detection.Aggregate, sparse.Output, self.Average(s => s.SinkMass), self.Max(s => s.PeakRatio));
            }
            finally
            {
                foreach (var b in baselines) b.Dispose();
            }
        });
        return result;
    }

    private static void WriteLoss(HtmlReport report, IReadOnlyList<double> losses)
    {
        int buckets = Math.Min(100, losses.Count);
        var means = Enumerable.Range(0, buckets).Select(i => losses.Skip(i * losses.Count / buckets).Take(Math.Max(1, losses.Count / buckets)).Average()).ToArray();
        File.WriteAllLines(report.Asset("retrain/loss.csv"), means.Select((m, i) => $"{i},{m.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)}").Prepend("bucket,mean_relative_loss"));
        var chart = VDiTLens.Reports.Charts.LineChart.Render(new VDiTLens.Reports.Charts.LineChartSpec
        {
            Title = "Distillation loss", XTitle = $"training progress (bucket of {Math.Max(1, losses.Count / buckets)} steps)", YTitle = "‖student − teacher‖² / ‖teacher‖²",
            Series = new[] { new VDiTLens.Reports.Charts.LineSeries("mean loss", means.Select((_, i) => (double)i).ToArray(), means) { Markers = buckets <= 30 } },
            YMin = 0, IntegerX = true,
        });
        report.Chart("retrain/loss.svg", chart, "distillation loss during retraining", new DataLink("CSV", "retrain/loss.csv"));
    }

    private static void WriteComparison(HtmlReport report, RetrainOptions options, Measured before, Measured after, string work)
    {
        string F(double x) => SinkReportWriter.Format(x);
        var rows = new List<string[]>
        {
            new[] { "self-attention sink mass (mean over sites)", F(before.SelfSinkMass), F(after.SelfSinkMass) },
            new[] { "self-attention peak ratio (max over sites)", F(before.SelfPeakRatio), F(after.SelfPeakRatio) },
        };
        foreach (int b in options.Blocks)
        {
            var x = before.Sites.FirstOrDefault(s => s.Site == $"blocks.{b}.attn1");
            var y = after.Sites.FirstOrDefault(s => s.Site == $"blocks.{b}.attn1");
            if (x is null || y is null) continue;
            rows.Add(new[] { $"blocks.{b}.attn1 sink mass", F(x.SinkMass), F(y.SinkMass) });
            rows.Add(new[] { $"blocks.{b}.attn1 peak ratio", F(x.PeakRatio), F(y.PeakRatio) });
        }
        string s = before.Sparsified.Condition;
        rows.Add(new[] { $"{s}: latent rel. error vs dense", F(before.Sparsified.LatentRelativeError), F(after.Sparsified.LatentRelativeError) });
        rows.Add(new[] { $"{s}: PSNR dB vs dense", F(before.Sparsified.Psnr), F(after.Sparsified.Psnr) });
        rows.Add(new[] { $"{s}: SSIM vs dense", F(before.Sparsified.Ssim), F(after.Sparsified.Ssim) });
        if (before.Sparsified.AttributeAccuracy is { } a && after.Sparsified.AttributeAccuracy is { } c)
            rows.Add(new[] { $"{s}: attribute accuracy", F(a), F(c) });
        string dir = Path.GetDirectoryName(report.Asset("retrain/x"))!;
        SinkReportWriter.WriteCsv(Path.Combine(dir, "before_after.csv"), new[] { "metric", "original", "retrained" }, rows);
        SinkReportWriter.WriteJson(Path.Combine(dir, "before_after.json"), new { options, before, after });
        report.WriteSection(45, "retrain", $"Retraining blocks {string.Join(", ", options.Blocks)} from scratch ({options.Scope}, {options.Target})",
            $"<p>Work folder: {HtmlReport.Escape(work)}</p>" + HtmlReport.Table(new[] { "metric", "original", "retrained" }, rows)
            + HtmlReport.Figure("retrain/loss.svg", "distillation loss during retraining") + "<p>Data: <a href=\"retrain/loss.csv\">loss.csv</a>.</p>");
        foreach (var row in rows) AnsiConsole.WriteLine(string.Join("  ", row));
    }
}
