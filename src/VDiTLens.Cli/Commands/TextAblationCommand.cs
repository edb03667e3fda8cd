using VDiTLens.Cli.Options;
using System.CommandLine;
using Spectre.Console;
using VDiTLens.Interventions;
using VDiTLens.Pipelines;
using VDiTLens.Procedural;
using VDiTLens.Studies.TextAblation;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens text-ablation</c>: generate from one text token (mask or zero the others) and measure the change, against a random-token control.</summary>
internal static class TextAblationCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions();
        var prompt = new Option<string[]>("--prompt") { Description = "prompt (repeat for several); default: the first --prompts procedural evaluation captions" };
        var promptCount = new Option<int>("--prompts") { Description = "procedural prompts when no --prompt is given", DefaultValueFactory = _ => 4 };
        var seeds = ListOption.Longs("--seeds", "comma list of seeds", new long[] { 0, 1 });
        var keep = new Option<long>("--keep") { Description = "text-token index kept (0 = the first)", DefaultValueFactory = _ => 0 };
        var mode = new Option<string>("--mode") { Description = "mask (others get -inf logits) or zero_values", DefaultValueFactory = _ => "mask" };
        var sites = new Option<string>("--sites") { Description = "sites whose text keys are ablated: names, prefixes ending in '*', kinds", DefaultValueFactory = _ => "cross,joint" };
        var command = new Command("text-ablation", "Keep one text token in cross/joint attention, mask or zero the rest; output change vs the unablated run and vs a random-token control");
        foreach (var o in new Option[] { prompt, promptCount, seeds, keep, mode, sites }) command.Options.Add(o);
        study.AddTo(command);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var compute = common.Resolve(result);
            string modelPath = study.ModelPath(result);
            if (!Directory.Exists(modelPath)) throw new VDiTLensException($"--model {modelPath}: folder not found");
            using var pipeline = TextToVideoPipelines.Load(modelPath, compute);
            var sizes = study.Resolve(result, StudyDefaults.For(pipeline, modelPath));
            var given = result.GetValue(prompt) ?? Array.Empty<string>();
            var options = new TextAblationOptions
            {
                Prompts = given.Length > 0 ? given : new ProceduralDataset().EvaluationSet(1).Take(Math.Max(1, result.GetValue(promptCount))).Select(e => e.Caption).ToArray(),
                Seeds = result.GetValue(seeds)!,
                Keep = result.GetValue(keep),
                Mode = result.GetValue(mode) switch
                {
                    "mask" => TextKeepMode.Mask, "zero_values" => TextKeepMode.ZeroValues,
                    var other => throw new VDiTLensException($"--mode {other}: use mask or zero_values"),
                },
                Sites = StudyOptions.Split(result.GetValue(sites)),
            };
            var template = study.Request(result, sizes);
            AnsiConsole.WriteLine($"text ablation: {options.Prompts.Count} prompts × {options.Seeds.Count} seeds × 3 generations = {TextAblationStudy.Forwards(template, options)} transformer forwards");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var rows = TextAblationStudy.Run(pipeline, template, options, new Reporter(p =>
            {
                if (p.Done == 1) AnsiConsole.WriteLine($"first generation took {clock.Elapsed.TotalSeconds:F1} s; about {clock.Elapsed.TotalSeconds * (p.Total - 1):F0} s for the rest");
            }));
            string folder = Path.Combine(result.GetValue(study.Out)!, TextAblationStudy.Folder);
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "text_ablation.csv"), TextAblationStudy.Csv(rows));
            string summary = TextAblationStudy.Summary(rows);
            File.WriteAllText(Path.Combine(folder, "summary.txt"), summary);
            AnsiConsole.Write(summary);
            AnsiConsole.WriteLine($"wrote {Path.Combine(folder, "text_ablation.csv")} in {clock.Elapsed.TotalSeconds:F0} s");
            return 0;
        });
        return command;
    }

    private sealed class Reporter(Action<(int Done, int Total)> report) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) => report(value);
    }
}
