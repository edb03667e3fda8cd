using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using VDiTLens.Cli.Options;
using VDiTLens.Cli.Progress;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using VDiTLens.Procedural;
using VDiTLens.Reports;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.Sparsity;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens sparsity</c>: coverage profile of the dense run, then the resumable sparsification sensitivity sweep.</summary>
internal static class SparsityCommand
{
    /// <summary>Procedural prompts start here in the training index space (far beyond any training run), as eval-tiny's "seen" set.</summary>
    private const long PromptIndexBase = 1_000_000_000_000L;

    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions();
        var prompts = new PromptOptions(defaultCount: 4);
        var negative = new Option<string>("--negative-prompt") { DefaultValueFactory = _ => "" };
        var split = new Option<bool>("--split-guidance") { Description = "cond and uncond as two transformer calls" };
        var method = new Option<string>("--method") { Description = "intervention type swept (bottom_k, block_topk, threshold, top_k, temperature…)", DefaultValueFactory = _ => "bottom_k" };
        var config = new Option<string?>("--config") { Description = "JSON object or list of sweep methods (or a file holding it): {\"type\":..., \"name\":..., \"level_field\":..., other fields}" };
        var levels = ListOption.Doubles("--levels", "comma list of levels (the method's level field, e.g. bottom_k sparsity)", new[] { 0.1, 0.3, 0.5, 0.7, 0.9 });
        var modes = ListOption.Strings("--modes", "comma list of single, leave_one_out, uniform", new[] { SweepMode.Single, SweepMode.LeaveOneOut });
        var sites = ListOption.Strings("--sites", "restrict the per-layer modes to these sites (names, prefixes ending in '*')", Array.Empty<string>());
        var keepDense = ListOption.Ints("--keep-dense", "uniform mode: numbers K of most sensitive layers kept dense", new[] { 0, 1, 2 });
        var preset = new Option<string?>("--preset") { Description = "paper: single-layer bottom-k sweep, then uniform bottom-k with the K most sensitive layers dense" };
        var profileOnly = new Option<bool>("--profile-only") { Description = "only the dense run's coverage profile" };
        var maxCells = new Option<int?>("--max-cells") { Description = "stop after computing this many new cells (resume later with the same command)" };
        var fresh = new Option<bool>("--fresh") { Description = "discard the saved cells of a previous run in --out (of the study being run)" };
        var shard = ShardOption.Create();
        var dryRun = new Option<bool>("--dry-run") { Description = "print the cells, generations, forwards and estimated time per cell (from a short timing on this device), and run nothing" };
        var coverageStride = new Option<int>("--coverage-stride") { Description = "top-k coverage on every n-th query", DefaultValueFactory = _ => 1 };
        var fullSweep = new Option<bool>("--full-sweep") { Description = "the full generation sweep (modes × layers × levels on one seed, resumable) instead of the held-out study; implied by any sweep option" };
        var command = new Command("sparsity", "Attention sparsity: the held-out study (proxy ranking and temperatures on dev seeds, control arms on held-out seeds), or the full sweep (coverage profile, which layers can be sparsified)");
        study.AddTo(command);
        prompts.AddTo(command, withSeeds: false);
        foreach (var o in new Option[] { negative, split, method, config, levels, modes, sites, keepDense, preset, profileOnly, maxCells, fresh, coverageStride, shard, dryRun, fullSweep })
            command.Options.Add(o);
        var heldOut = new SparsityHeldOutPass();
        heldOut.AddTo(command);
        common.AddTo(command);
        var proxyPass = new SparsityProxyPass();
        proxyPass.AddTo(command);
        var sweepOnly = command.Options.Where(o => SweepOptionNames.Contains(o.Name)).ToArray();
        command.SetAction(result =>
        {
            var options = Options(result, method, config, levels, modes, sites, keepDense, preset, profileOnly, maxCells, fresh, coverageStride)
                with { Shard = result.GetValue(shard) ?? Shard.All };
            var compute = common.Resolve(result);
            string modelPath = study.ModelPath(result);
            if (!Directory.Exists(modelPath))
                throw new VDiTLensException($"--model {modelPath}: folder not found (pass a pipeline folder)");
            var given = prompts.Given(result);
            var examples = given.Length > 0 ? null
                : new ProceduralDataset().TrainingExamples(prompts.CountOf(result), PromptIndexBase).ToList();
            string outPath = result.GetValue(study.Out)!;
            var loading = System.Diagnostics.Stopwatch.StartNew();
            using var pipeline = TextToVideoPipelines.Load(modelPath, compute);
            double loadSeconds = loading.Elapsed.TotalSeconds;
            var request = study.Request(result, StudyDefaults.For(pipeline, modelPath)) with
            {
                Prompts = examples?.Select(e => e.Caption).ToArray() ?? given,
                NegativePrompt = result.GetValue(negative)!,
                Seed = compute.Seed,
                BatchGuidance = !result.GetValue(split),
            };
            bool sweep = sweepOnly.Any(o => result.GetResult(o) is { Implicit: false });
            if (!sweep)
            {
                var heldOutOptions = heldOut.Options(result, pipeline, options.Methods, result.GetValue(proxyPass.Samples));
                if (result.GetValue(study.Steps) is null) request = request with { Steps = SparsityHeldOutPass.DefaultSteps(request.Steps) };
                string modelId = $"{Path.GetFullPath(modelPath)}|{compute.Device}|{Runtime.ComputeOptions.NameOf(compute.DType)}";
                if (result.GetValue(dryRun))
                    SparsityHeldOutPass.DryRun(pipeline, request, heldOutOptions, modelId, options.Shard, loadSeconds);
                else
                    heldOut.Run(pipeline, request, heldOutOptions, outPath, modelId, result.GetValue(maxCells), result.GetValue(fresh), options.Shard);
                return 0;
            }
            if (heldOut.Given(result).ToArray() is { Length: > 0 } studyOnly)
                throw new VDiTLensException($"{string.Join(", ", studyOnly)}: held-out study options, but sweep options select the full sweep; drop one or the other");
            if (!proxyPass.Run(result, pipeline, request, ref options, outPath)) return 0;
            var specs = examples is not null && StudyDefaults.Evaluates(pipeline, modelPath) ? examples.Select(e => e.Spec).ToArray() : null;
            var generator = new PipelineSweepGenerator(pipeline, request, modelPath, specs);
            if (result.GetValue(dryRun))
            {
                DryRun(pipeline, options, generator, loadSeconds);
                return 0;
            }
            string folder = Path.Combine(outPath, SparsityReport.Folder, "run");
            var outcome = Run(new SparsitySweep(folder, generator, options), generator);
            if (!options.Shard.IsAll)
            {
                AnsiConsole.WriteLine($"shard {options.Shard}: {outcome.Computed} cells computed, {outcome.Waiting} waiting for other shards' single-layer cells; " +
                    $"{outcome.Results.Count}/{outcome.Total} cells of the sweep are in {folder}");
                AnsiConsole.WriteLine(outcome.Waiting > 0
                    ? "run this shard again once the other shards have finished, then: vditlens merge --out " + outPath
                    : "when every shard has finished: vditlens merge --out " + outPath);
                return 0;
            }
            var files = SparsityReport.Write(new HtmlReport(outPath), outcome);
            Summarise(outcome);
            AnsiConsole.WriteLine($"wrote {files.Count} files under {Path.Combine(outPath, SparsityReport.Folder)} and {Path.Combine(outPath, "index.html")}");
            return 0;
        });
        return command;
    }

    /// <summary>Options that select the full sweep (the held-out study is the default without them).</summary>
    public static readonly string[] SweepOptionNames =
        { "--levels", "--modes", "--sites", "--keep-dense", "--preset", "--profile-only", "--coverage-stride", "--full-sweep", "--proxy", "--proxy-flag" };

    /// <summary>Whether <c>sparsity</c> with these arguments runs the held-out study (no sweep option given).</summary>
    public static bool IsHeldOutStudy(IEnumerable<string> args) =>
        !args.Any(a => SweepOptionNames.Contains(a.Split('=', ':')[0]));

    internal static SweepOptions Options(ParseResult r, Option<string> method, Option<string?> config, Option<double[]> levels, Option<string[]> modes,
        Option<string[]> sites, Option<int[]> keepDense, Option<string?> preset, Option<bool> profileOnly, Option<int?> maxCells, Option<bool> fresh,
        Option<int> coverageStride)
    {
        var options = r.GetValue(preset) switch
        {
            null => new SweepOptions { Modes = r.GetValue(modes)! },
            "paper" => SweepOptions.Paper,
            var other => throw new VDiTLensException($"--preset {other}: unknown preset (use paper)"),
        };
        string? json = r.GetValue(config);
        if (json is not null && File.Exists(json)) json = File.ReadAllText(json);
        return options with
        {
            Methods = json is not null ? SweepMethod.Parse(json) : options.Methods.Count == 1 && r.GetValue(method) != "bottom_k"
                ? new[] { SweepMethod.FromType(r.GetValue(method)!) } : options.Methods,
            Levels = r.GetValue(levels)!,
            Sites = r.GetValue(sites)!,
            KeepDense = r.GetValue(keepDense)!,
            ProfileOnly = r.GetValue(profileOnly),
            MaxNewCells = r.GetValue(maxCells),
            Fresh = r.GetValue(fresh),
            CoverageStride = r.GetValue(coverageStride),
        };
    }

    /// <summary>
    /// Runs the sweep's own code on the dense reference and the first cell in a scratch folder (every stage: text
    /// encoding, denoising, decoding, metrics, saving; then the report), and scales that cell's time by the plan.
    /// </summary>
    private static void DryRun(ITextToVideoPipeline pipeline, SweepOptions options, PipelineSweepGenerator generator, double loadSeconds)
    {
        var sites = pipeline.Sites.Where(x => x.Kind is Attention.AttentionKind.Self or Attention.AttentionKind.Joint).Select(x => x.Name).ToArray();
        var plan = SparsitySweep.Plan(options, sites, generator.ForwardsPerGeneration);
        var scratch = Directory.CreateTempSubdirectory("vditlens-dry-run-");
        CellTiming timing;
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var outcome = Run(new SparsitySweep(Path.Combine(scratch.FullName, "run"), generator, options with { Shard = Shard.All, MaxNewCells = 1, Fresh = false }), generator);
            double sweepSeconds = clock.Elapsed.TotalSeconds;
            var sample = outcome.Results.FirstOrDefault();
            clock.Restart();
            SparsityReport.Write(new HtmlReport(Path.Combine(scratch.FullName, "report")), outcome);
            double reportSeconds = clock.Elapsed.TotalSeconds;
            double cellSeconds = sample?.Seconds ?? 0;
            timing = new CellTiming(loadSeconds, sweepSeconds - cellSeconds, cellSeconds,
                sample is null ? 0 : plan.Cells.First(c => c.Id == sample.Cell.Id).Cost, reportSeconds);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
        Estimate.Print(plan, timing, options.Shard, pipeline.Options.Device.ToString(), "the dense reference");
    }

    private static SweepOutcome Run(SparsitySweep sweep, PipelineSweepGenerator generator)
    {
        SweepOutcome outcome = null!;
        ProgressDisplay.Run(ctx =>
            {
                var cells = ctx.AddTask("dense reference", maxValue: 1);
                var denoise = ctx.AddTask("denoising", maxValue: 1);
                generator.StepProgress = new SynchronousProgress<GenerationProgress>(p =>
                {
                    denoise.MaxValue = p.Total;
                    denoise.Value = p.Completed;
                });
                outcome = sweep.Run(new SynchronousProgress<SweepProgress>(p =>
                {
                    cells.MaxValue = Math.Max(1, p.Total);
                    cells.Value = p.Done;
                    string eta = p.Remaining is { } t ? $", ETA {t:hh\\:mm\\:ss}" : "";
                    string current = p.Current is { } c ? $" · {c}" : "";
                    cells.Description = Markup.Escape($"cells {p.Done}/{p.Total} ({p.Computed} computed){eta}{current}");
                }));
                cells.Value = cells.MaxValue;
                denoise.Value = denoise.MaxValue;
            });
        return outcome;
    }

    private static void Summarise(SweepOutcome outcome)
    {
        var table = new Table().AddColumns("layer", "site", "coverage@0.5", "coverage@0.9", "coverage@0.99");
        foreach (var s in outcome.Profile.Sites)
            table.AddRow(s.Layer.ToString(), Markup.Escape(s.Site), s.At(0.5).ToString("F3"), s.At(0.9).ToString("F3"), s.At(0.99).ToString("F3"));
        AnsiConsole.Write(table);
        if (outcome.DenseAccuracy is { } a) AnsiConsole.WriteLine($"dense evaluator accuracy {a:P0}");
        if (outcome.Results.Count == 0) return;
        var sweep = new Table().AddColumns("method", "mode", "layer", "level", "density", "rel L2", "PSNR", "SSIM", "accuracy");
        foreach (var r in outcome.Results)
            sweep.AddRow(Markup.Escape(r.Cell.Method), r.Cell.Mode, r.Cell.Layer.ToString(), r.Cell.Level.ToString(CultureInfo.InvariantCulture),
                r.Density?.ToString("F3") ?? "–", r.LatentRelativeL2.ToString("G3"), r.Psnr.ToString("F1"), r.Ssim.ToString("F3"), r.Accuracy?.ToString("P0") ?? "–");
        AnsiConsole.Write(sweep);
        if (!outcome.Complete) AnsiConsole.MarkupLine($"[yellow]{outcome.Results.Count}/{outcome.Total} cells done; run the same command again to resume[/]");
    }
}
