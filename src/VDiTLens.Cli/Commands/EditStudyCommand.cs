using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using VDiTLens.Pipelines;
using VDiTLens.Reports;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.Structure;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens edit-study</c>: transfer one band of blocks at a time and measure preservation (and adherence, where the procedural evaluator applies).</summary>
internal static class EditStudyCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions($"diffusers pipeline folder: {string.Join(", ", TextToVideoPipelines.SupportedClasses)} (the procedural evaluator's measures only on models trained on procedural clips; PSNR and MS-SSIM to source and target on every model)");
        var band = new Option<int>("--band") { Description = "consecutive layers transferred together", DefaultValueFactory = _ => 1 };
        var pair = new Option<string[]>("--pair") { Description = "'SOURCE => TARGET' prompt pair; repeat (default: 2 colour + 2 shape pairs)" };
        var heads = Options.ListOption.Longs("--heads", "comma list of heads transferred (default: all)", Array.Empty<long>());
        var steps = new Option<string?>("--step-range") { Description = "denoising steps transferred, inclusive range a..b (default: all)" };
        var branches = new Option<string?>("--branches") { Description = "guidance branches transferred: cond, uncond (default: both)" };
        var transferText = new Option<bool>("--transfer-text") { Description = "at joint text-video sites, also transfer the text tokens' q and k (default: video tokens only)" };
        var noAll = new Option<bool>("--no-all") { Description = "skip the extra band that transfers every layer" };
        var devSeeds = Options.ListOption.Longs("--dev-seeds", "development seeds: the band is chosen on them only", new long[] { 0 });
        var testSeeds = Options.ListOption.Longs("--test-seeds", "held-out seeds: only the chosen band is run and reported on them, in a second pass (at least 2)", new long[] { 1, 2 });
        var targetNoise = new Option<string>("--target-noise") { Description = "noise of the target rows: independent (default; another draw than the source's) or same (the source's)", DefaultValueFactory = _ => "independent" };
        var pairSet = new Option<string?>("--pairs") { Description = "default pair set: clips (single-object colour/shape pairs) or scenes (multi-object appearance and camera pairs); default: scenes on scene-trained models, clips otherwise" };
        var shard = Options.ShardOption.Create();
        var dryRun = Options.DryRunOption.Create();
        var command = new Command("edit-study", "Per-layer attention-map transfer: layout/motion preservation and target adherence against layer; resumes");
        foreach (var o in new Option[] { band, pair, heads, steps, branches, transferText, noAll, devSeeds, testSeeds, targetNoise, pairSet, shard, dryRun }) command.Options.Add(o);
        study.AddTo(command);
        common.AddTo(command);
        command.SetAction(result =>
        {
            if (result.GetResult(common.Seed) is { Implicit: false })
                throw new VDiTLensException("--seed: edit-study chooses on --dev-seeds and reports on --test-seeds; give those (the old --seed S is --dev-seeds S)");
            var compute = common.Resolve(result);
            string model = study.ModelPath(result);
            string outPath = result.GetValue(study.Out)!;
            var part = result.GetValue(shard) ?? Shard.All;
            var loading = Stopwatch.StartNew();
            using (var pipeline = TextToVideoPipelines.Load(model, compute))
            {
                double loadSeconds = loading.Elapsed.TotalSeconds;
                var evaluator = StudyDefaults.EvaluatesScenes(pipeline, model) ? EditEvaluator.Scenes
                    : StudyDefaults.Evaluates(pipeline, model) ? EditEvaluator.Clips : EditEvaluator.None;
                var sizes = study.Resolve(result, StudyDefaults.For(pipeline, model));
                var (min, max) = StudyOptions.Range(result.GetValue(steps), "--step-range");
                bool scenes = result.GetValue(pairSet) switch
                {
                    null => evaluator == EditEvaluator.Scenes,
                    "scenes" => true,
                    "clips" => false,
                    var other => throw new VDiTLensException($"--pairs {other}: use clips or scenes"),
                };
                var pairs = result.GetValue(pair) is { Length: > 0 } given ? given.Select(ParsePair).ToArray()
                    : scenes ? ScenePairs.Build() : EditStudyOptions.DefaultPairs;
                var options = new EditStudyOptions
                {
                    Pairs = pairs, Band = result.GetValue(band), IncludeAll = !result.GetValue(noAll),
                    DevSeeds = result.GetValue(devSeeds)!, TestSeeds = result.GetValue(testSeeds)!,
                    TargetNoise = result.GetValue(targetNoise) switch
                    {
                        "independent" => TargetNoise.Independent,
                        "same" => TargetNoise.Same,
                        var other => throw new VDiTLensException($"--target-noise {other}: use independent or same"),
                    },
                    Steps = sizes.Steps, Guidance = sizes.GuidanceScale,
                    Frames = sizes.Frames, Height = sizes.Height, Width = sizes.Width,
                    MaxSequenceLength = sizes.MaxSequenceLength, Image = study.FirstFrame(result), Heads = result.GetValue(heads)!,
                    MinStep = min, MaxStep = max, Branches = StudyOptions.Split(result.GetValue(branches)),
                    TransferText = result.GetValue(transferText), Evaluator = evaluator,
                };
                var settings = EditStudy.Settings(pipeline, options, model, $"{Path.GetFullPath(model)}|{compute.Device}|{Runtime.ComputeOptions.NameOf(compute.DType)}");
                if (result.GetValue(dryRun))
                {
                    DryRun(pipeline, settings, part, loadSeconds);
                    return 0;
                }
                string runFolder = EditStudy.RunFolder(outPath);
                var folder = EditStudy.Open(runFolder, settings);
                var done = StudyOptions.WithProgress("edit-study", progress => EditStudy.RunShard(folder, pipeline, settings, part, progress));
                if (!part.IsAll)
                {
                    ShardSummary.Print(part, done, runFolder, outPath);
                    return 0;
                }
            }
            return Report(outPath);
        });
        return command;
    }

    /// <summary>The tables and report section from the cells in <paramref name="outPath"/> (also what <c>merge</c> runs); lists missing cells.</summary>
    public static int Report(string outPath, bool requireComplete = false)
    {
        var report = new HtmlReport(outPath);
        var (settings, cells, total, missing) = WriteReport(report); // the band table is over the development seeds, as in the report
        bool evaluate = settings.Options.Evaluator == EditEvaluator.Clips;
        var table = evaluate
            ? new Table().AddColumns("band", "traj. dist (px)", "SSIM", "frame-diff corr", "adherence", "no-transfer SSIM", "no-transfer adherence")
            : new Table().AddColumns("band", "PSNR to source", "MS-SSIM to source", "PSNR to target", "MS-SSIM to target", "no-transfer MS-SSIM to source");
        foreach (var b in EditBandSummary.Of(cells.Where(c => settings.Options.DevSeeds.Contains(c.Seed))))
            if (evaluate)
                table.AddRow(b.Band, EditReport.F(b.TrajectoryDistance), EditReport.F(b.Ssim), EditReport.F(b.FrameDifferenceCorrelation),
                    EditReport.F(b.Adherence), EditReport.F(b.BaselineSsim), EditReport.F(b.BaselineAdherence));
            else
                table.AddRow(b.Band, EditReport.F(b.PsnrToSource), EditReport.F(b.MsSsimToSource), EditReport.F(b.PsnrToTarget),
                    EditReport.F(b.MsSsimToTarget), EditReport.F(b.BaselineMsSsimToSource));
        AnsiConsole.Write(table);
        var selection = EditSelection.Of(cells, settings.Options);
        AnsiConsole.WriteLine($"primary measure: {selection.Measure}; chosen on development seeds {string.Join(",", settings.Options.DevSeeds)}: {selection.Chosen ?? "none"}");
        int pass1Missing = missing.Count(c => c.After.Count == 0);
        if (pass1Missing > 0)
            AnsiConsole.WriteLine($"pass 1 lacks {pass1Missing} cells: that choice is from the pass-1 cells saved so far, and pass 2 (the held-out seeds) has not started");
        if (selection.Test is { } t)
            AnsiConsole.WriteLine($"held-out seeds {string.Join(",", settings.Options.TestSeeds)}, band {t.Band}: score {t.Score}; no transfer {t.BaselineScore}; edited − no transfer {t.ScoreDifference}");
        AnsiConsole.WriteLine($"measures: {string.Join("; ", EditStudyReport.Measures(settings.Options))}");
        AnsiConsole.WriteLine($"wrote {Path.Combine(report.Folder, "index.html")} (section edit-study) and {Path.Combine(report.Folder, EditStudyReport.Folder)}/");
        return ShardSummary.Missing("edit-study", total, missing, requireComplete);
    }

    private static (EditStudySettings Settings, IReadOnlyList<EditStudyCell> Cells, int Total, IReadOnlyList<PlannedCell> Missing) WriteReport(HtmlReport report)
    {
        var collected = EditStudy.Collect(EditStudy.RunFolder(report.Folder));
        if (collected.Cells.Count == 0) throw new VDiTLensException($"{EditStudy.RunFolder(report.Folder)}: no cell is saved yet; run the shards first");
        EditStudyReport.Write(report, collected.Settings.Options, collected.Cells, collected.Settings.Model);
        return collected;
    }

    /// <summary>Times the first cell (its batched generation, the measures, the contact sheet, saving) and the report in a scratch folder, and scales by the plan.</summary>
    private static void DryRun(ITextToVideoPipeline pipeline, EditStudySettings settings, Shard part, double loadSeconds)
    {
        var scratch = Directory.CreateTempSubdirectory("vditlens-dry-run-");
        try
        {
            var one = settings with { Options = settings.Options with { Pairs = new[] { settings.Options.Pairs[0] } }, Bands = new[] { settings.Bands[0] } };
            var folder = EditStudy.Open(EditStudy.RunFolder(scratch.FullName), one);
            var clock = Stopwatch.StartNew();
            StudyOptions.WithProgress("timing one cell", progress => EditStudy.RunShard(folder, pipeline, one, Shard.All, progress, maxNewCells: 1));
            double cellSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            WriteReport(new HtmlReport(scratch.FullName));
            var plan = EditStudy.Plan(settings);
            int development = settings.Bands.Count * settings.Options.Pairs.Count * settings.Options.DevSeeds.Count;
            AnsiConsole.WriteLine($"pass 1: {development} cells ({settings.Bands.Count} bands × {settings.Options.Pairs.Count} pairs × {settings.Options.DevSeeds.Count} dev seeds); " +
                $"pass 2: {plan.Cells.Count - development} cells (the chosen band × {settings.Options.Pairs.Count} pairs × {settings.Options.TestSeeds.Count} held-out seeds), after every pass-1 cell");
            Estimate.Print(plan, new CellTiming(loadSeconds, 0, cellSeconds, 1, clock.Elapsed.TotalSeconds), part, pipeline.Options.Device.ToString());
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static EditPair ParsePair(string text)
    {
        var parts = text.Split("=>", StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
            throw new VDiTLensException($"--pair '{text}': write it as 'SOURCE PROMPT => TARGET PROMPT'");
        var a = PromptAttributes.Parse(parts[0]);
        var b = PromptAttributes.Parse(parts[1]);
        string changes = string.Join("+", new[] { a.Colour != b.Colour ? "colour" : null, a.Shape != b.Shape ? "shape" : null }.Where(c => c is not null));
        return new EditPair(parts[0], parts[1], changes.Length == 0 ? "none" : changes);
    }
}
