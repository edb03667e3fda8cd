using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using VDiTLens.Pipelines;
using VDiTLens.Procedural;
using VDiTLens.Reports;
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
        var model = new Option<string>("--model") { Description = "pipeline folder (WanPipeline, CogVideoXPipeline or MochiPipeline)", DefaultValueFactory = _ => "models/vditlens-tiny" };
        var prompt = new Option<string[]>("--prompt") { Description = "prompt (repeat for several); default: procedural prompts (scored by the clip evaluator on Wan folders)" };
        var promptCount = new Option<int>("--prompts") { Description = "number of procedural prompts when no --prompt is given", DefaultValueFactory = _ => 8 };
        var negative = new Option<string>("--negative-prompt") { DefaultValueFactory = _ => "" };
        var guidance = new Option<double?>("--guidance") { Description = $"classifier-free guidance scale ({StudyDefaults.Help}: 5)" };
        var steps = new Option<int?>("--steps") { Description = $"denoising steps ({StudyDefaults.Help}: 20)" };
        var height = new Option<int?>("--height") { Description = $"height in pixels ({StudyDefaults.Help}: 32)" };
        var width = new Option<int?>("--width") { Description = $"width in pixels ({StudyDefaults.Help}: 32)" };
        var frames = new Option<int?>("--frames") { Description = $"frames ({StudyDefaults.Help}: 9)" };
        var maxLength = new Option<int?>("--max-sequence-length") { Description = $"prompt tokens ({StudyDefaults.Help}: 16)" };
        var split = new Option<bool>("--split-guidance") { Description = "cond and uncond as two transformer calls" };
        var method = new Option<string>("--method") { Description = "intervention type swept (bottom_k, block_topk, threshold, top_k, temperature…)", DefaultValueFactory = _ => "bottom_k" };
        var config = new Option<string?>("--config") { Description = "JSON object or list of sweep methods (or a file holding it): {\"type\":..., \"name\":..., \"level_field\":..., other fields}" };
        var levels = new Option<string>("--levels") { Description = "comma list of levels (the method's level field, e.g. bottom_k sparsity)", DefaultValueFactory = _ => "0.1,0.3,0.5,0.7,0.9" };
        var modes = new Option<string>("--modes") { Description = "comma list of single, leave_one_out, uniform", DefaultValueFactory = _ => "single,leave_one_out" };
        var sites = new Option<string?>("--sites") { Description = "restrict the per-layer modes to these sites (names, prefixes ending in '*')" };
        var keepDense = new Option<string>("--keep-dense") { Description = "uniform mode: numbers K of most sensitive layers kept dense", DefaultValueFactory = _ => "0,1,2" };
        var preset = new Option<string?>("--preset") { Description = "paper: single-layer bottom-k sweep, then uniform bottom-k with the K most sensitive layers dense" };
        var profileOnly = new Option<bool>("--profile-only") { Description = "only the dense run's coverage profile" };
        var maxCells = new Option<int?>("--max-cells") { Description = "stop after computing this many new cells (resume later)" };
        var fresh = new Option<bool>("--fresh") { Description = "discard a previous sweep in --out made with other settings" };
        var coverageStride = new Option<int>("--coverage-stride") { Description = "top-k coverage on every n-th query", DefaultValueFactory = _ => 1 };
        var outDir = new Option<string>("--out") { Description = "report folder", DefaultValueFactory = _ => "out/report" };
        var command = new Command("sparsity", "Attention sparsity: coverage profile, and which layers can be sparsified (resumable sweep)");
        foreach (var o in new Option[] { model, prompt, promptCount, negative, guidance, steps, height, width, frames, maxLength, split, method, config,
                     levels, modes, sites, keepDense, preset, profileOnly, maxCells, fresh, coverageStride, outDir })
            command.Options.Add(o);
        common.AddTo(command);
        var proxyPass = new SparsityProxyPass();
        proxyPass.AddTo(command);
        command.SetAction(result =>
        {
            var options = Options(result, method, config, levels, modes, sites, keepDense, preset, profileOnly, maxCells, fresh, coverageStride);
            var compute = common.Resolve(result);
            string modelPath = result.GetValue(model)!;
            if (!Directory.Exists(modelPath))
                throw new VDiTLensException($"--model {modelPath}: folder not found (the embedded model lives in models/vditlens-tiny; pass a pipeline folder)");
            var given = result.GetValue(prompt) ?? Array.Empty<string>();
            var examples = given.Length > 0 ? null
                : new ProceduralDataset().TrainingExamples(result.GetValue(promptCount), PromptIndexBase).ToList();
            string outPath = result.GetValue(outDir)!;
            using var pipeline = TextToVideoPipelines.Load(modelPath, compute);
            var defaults = StudyDefaults.For(pipeline);
            var request = new GenerationRequest
            {
                Prompts = examples?.Select(e => e.Caption).ToArray() ?? given,
                NegativePrompt = result.GetValue(negative)!,
                GuidanceScale = result.GetValue(guidance) ?? defaults.GuidanceScale,
                Steps = result.GetValue(steps) ?? defaults.Steps,
                Height = result.GetValue(height) ?? defaults.Height,
                Width = result.GetValue(width) ?? defaults.Width,
                Frames = result.GetValue(frames) ?? defaults.Frames,
                MaxSequenceLength = result.GetValue(maxLength) ?? defaults.MaxSequenceLength,
                Seed = compute.Seed,
                BatchGuidance = !result.GetValue(split),
            };
            if (!proxyPass.Run(result, pipeline, request, ref options, outPath)) return 0;
            var specs = examples is not null && StudyDefaults.Evaluates(pipeline) ? examples.Select(e => e.Spec).ToArray() : null;
            var generator = new PipelineSweepGenerator(pipeline, request, modelPath, specs);
            var outcome = Run(new SparsitySweep(Path.Combine(outPath, SparsityReport.Folder, "run"), generator, options), generator);
            var files = SparsityReport.Write(new HtmlReport(outPath), outcome);
            Summarise(outcome);
            AnsiConsole.WriteLine($"wrote {files.Count} files under {Path.Combine(outPath, SparsityReport.Folder)} and {Path.Combine(outPath, "index.html")}");
            return 0;
        });
        return command;
    }

    internal static SweepOptions Options(ParseResult r, Option<string> method, Option<string?> config, Option<string> levels, Option<string> modes,
        Option<string?> sites, Option<string> keepDense, Option<string?> preset, Option<bool> profileOnly, Option<int?> maxCells, Option<bool> fresh,
        Option<int> coverageStride)
    {
        var options = r.GetValue(preset) switch
        {
            null => new SweepOptions { Modes = List(r.GetValue(modes)!, "--modes") },
            "paper" => SweepOptions.Paper,
            var other => throw new VDiTLensException($"--preset {other}: unknown preset (use paper)"),
        };
        string? json = r.GetValue(config);
        if (json is not null && File.Exists(json)) json = File.ReadAllText(json);
        return options with
        {
            Methods = json is not null ? SweepMethod.Parse(json) : options.Methods.Count == 1 && r.GetValue(method) != "bottom_k"
                ? new[] { SweepMethod.FromType(r.GetValue(method)!) } : options.Methods,
            Levels = List(r.GetValue(levels)!, "--levels").Select(s => Number(s, "--levels")).ToArray(),
            Sites = r.GetValue(sites) is { } s ? List(s, "--sites") : Array.Empty<string>(),
            KeepDense = List(r.GetValue(keepDense)!, "--keep-dense").Select(s => (int)Number(s, "--keep-dense")).ToArray(),
            ProfileOnly = r.GetValue(profileOnly),
            MaxNewCells = r.GetValue(maxCells),
            Fresh = r.GetValue(fresh),
            CoverageStride = r.GetValue(coverageStride),
        };
    }

    private static string[] List(string s, string option)
    {
        var items = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return items.Length > 0 ? items : throw new VDiTLensException($"{option} is empty");
    }

    private static double Number(string s, string option) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw new VDiTLensException($"{option}: '{s}' is not a number");

    private static SweepOutcome Run(SparsitySweep sweep, PipelineSweepGenerator generator)
    {
        SweepOutcome outcome = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var cells = ctx.AddTask("dense reference", maxValue: 1);
                var denoise = ctx.AddTask("denoising", maxValue: 1);
                generator.StepProgress = new Reporter<GenerationProgress>(p =>
                {
                    denoise.MaxValue = p.Total;
                    denoise.Value = p.Completed;
                });
                outcome = sweep.Run(new Reporter<SweepProgress>(p =>
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

    /// <summary>Reports synchronously on the calling thread.</summary>
    private sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
