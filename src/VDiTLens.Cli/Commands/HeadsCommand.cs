using VDiTLens.Cli.Options;
using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using VDiTLens.Pipelines;
using VDiTLens.Studies.Maps;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens heads</c>: which heads sink, where and when — layer × head × step views of one generation.</summary>
internal static class HeadsCommand
{
    public const string DefaultPrompt = "a red square moving right";

    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions();
        var prompts = new PromptOptions(defaultCount: 1, seedsHelp: "comma list of seeds, one generation per prompt and seed (default: --seed); several runs add heads_per_run.csv and heads_intervals.csv");
        var negative = new Option<string>("--negative-prompt") { DefaultValueFactory = _ => "" };
        var sites = new Option<string>("--sites") { Description = "sites: names, prefixes ending in '*', or kinds", DefaultValueFactory = _ => "self,joint" };
        var epsilon = new Option<double>("--epsilon") { Description = "a head sinks on a key whose received mass (mean over queries) exceeds this (Gu et al.'s ε)", DefaultValueFactory = _ => 0.3 };
        var coverageStride = new Option<int>("--coverage-stride") { Description = "coverage on every n-th query (32–64 at full Wan sizes)", DefaultValueFactory = _ => 1 };
        var pictureSteps = ListOption.Ints("--picture-steps", "steps drawn in heads.svg (default: up to 6 spread over the run; every step is in heads.csv)");
        var command = new Command("heads", "Layer × head × step views: top-1 and sink mass, entropy, coverage per head and step → heads.csv + heads.svg");
        prompts.AddTo(command, withCount: false);
        foreach (var o in new Option[] { negative, sites, epsilon, coverageStride, pictureSteps }) command.Options.Add(o);
        study.AddTo(command);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var compute = common.Resolve(result);
            string modelPath = study.ModelPath(result);
            if (!Directory.Exists(modelPath)) throw new VDiTLensException($"--model {modelPath}: folder not found");
            using var pipeline = TextToVideoPipelines.Load(modelPath, compute);
            var sizes = study.Resolve(result, StudyDefaults.For(pipeline, modelPath));
            var options = new HeadViewOptions
            {
                Sites = StudyOptions.Split(result.GetValue(sites)),
                Epsilon = result.GetValue(epsilon),
                CoverageStride = result.GetValue(coverageStride),
                PictureSteps = result.GetValue(pictureSteps) ?? Array.Empty<int>(),
            };
            var clock = Stopwatch.StartNew();
            var given = prompts.Given(result);
            var seeds = result.GetValue(prompts.Seeds) is { Length: > 0 } list ? list : new[] { compute.Seed };
            var request = study.Request(result, sizes) with
            {
                NegativePrompt = result.GetValue(negative)!,
                OnStep = info =>
                {
                    if (info.Step == 0 && info.TotalSteps > 1)
                        AnsiConsole.WriteLine($"step 0 took {clock.Elapsed.TotalSeconds:F1} s (probed); about {clock.Elapsed.TotalSeconds * (info.TotalSteps - 1):F0} s for the rest of this run");
                },
            };
            var runs = (given.Length > 0 ? given : new[] { DefaultPrompt }).SelectMany(p => seeds.Select(seed => request with { Prompts = new[] { p }, Seed = seed })).ToArray();
            AnsiConsole.WriteLine($"head views: {runs.Length} run(s) × {HeadViewStudy.Forwards(request)} probed transformer forwards ({request.Steps} steps{(request.GuidanceScale > 1 ? ", cond and uncond" : "")})");
            var views = HeadViewStudy.Run(pipeline, runs, options, Path.Combine(result.GetValue(study.Out)!, "heads"),
                i => { clock.Restart(); AnsiConsole.WriteLine($"run {i + 1}/{runs.Length}: seed {runs[i].Seed}, \"{runs[i].Prompts[0]}\""); });
            var strongest = views.Rows.OrderByDescending(r => r.SinkMass).ThenByDescending(r => r.Top1Mass).Take(5);
            var table = new Table().AddColumns("site", "step", "head", "top-1 mass", "sink mass > ε", "entropy / ln keys", "coverage@0.9");
            foreach (var r in strongest)
                table.AddRow(Markup.Escape(r.Site), r.Step.ToString(), r.Head.ToString(), r.Top1Mass.ToString("F3"), r.SinkMass.ToString("F3"), r.NormalisedEntropy.ToString("F3"), r.Coverage90.ToString("F3"));
            AnsiConsole.Write(table);
            AnsiConsole.WriteLine($"{views.Rows.Count} (site, step, head) rows (mean over {runs.Length} run(s)); wrote {views.CsvPath}, {views.SvgPath}" +
                (views.IntervalsPath is { } ci ? $" and {ci} (95 % bootstrap over runs)" : ""));
            return 0;
        });
        return command;
    }
}
