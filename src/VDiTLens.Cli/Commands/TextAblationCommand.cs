using VDiTLens.Cli.Options;
using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using VDiTLens.Interventions;
using VDiTLens.Pipelines;
using VDiTLens.Procedural;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.TextAblation;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens text-ablation</c>: generate from one text token (mask or zero the others) and measure the change, against a random-token control.</summary>
internal static class TextAblationCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions();
        var prompts = new PromptOptions(defaultCount: 4, defaultSeeds: new long[] { 0, 1 });
        var keep = new Option<long>("--keep") { Description = "text-token index kept (0 = the first)", DefaultValueFactory = _ => 0 };
        var mode = new Option<string>("--mode") { Description = "mask (others get -inf logits) or zero_values", DefaultValueFactory = _ => "mask" };
        var sites = new Option<string>("--sites") { Description = "sites whose text keys are ablated: names, prefixes ending in '*', kinds", DefaultValueFactory = _ => "cross,joint" };
        var shard = ShardOption.Create();
        var dryRun = DryRunOption.Create();
        var command = new Command("text-ablation", "Keep one text token in cross/joint attention, mask or zero the rest; output change vs the unablated run and vs a random-token control");
        prompts.AddTo(command);
        foreach (var o in new Option[] { keep, mode, sites, shard, dryRun }) command.Options.Add(o);
        study.AddTo(command);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var compute = common.Resolve(result);
            string modelPath = study.ModelPath(result);
            if (!Directory.Exists(modelPath)) throw new VDiTLensException($"--model {modelPath}: folder not found");
            string outPath = result.GetValue(study.Out)!;
            var part = result.GetValue(shard) ?? Shard.All;
            var promptList = Studies.StudyPrompts.Of(prompts.Given(result), prompts.CountOf(result)).Prompts;
            var loading = Stopwatch.StartNew();
            using var pipeline = TextToVideoPipelines.Load(modelPath, compute);
            double loadSeconds = loading.Elapsed.TotalSeconds;
            var sizes = study.Resolve(result, StudyDefaults.For(pipeline, modelPath));
            var options = new TextAblationOptions
            {
                Prompts = promptList,
                Seeds = result.GetValue(prompts.Seeds)!,
                Keep = result.GetValue(keep),
                Mode = result.GetValue(mode) switch
                {
                    "mask" => TextKeepMode.Mask, "zero_values" => TextKeepMode.ZeroValues,
                    var other => throw new VDiTLensException($"--mode {other}: use mask or zero_values"),
                },
                Sites = StudyOptions.Split(result.GetValue(sites)),
            };
            var template = study.Request(result, sizes);
            var settings = new TextAblationSettings(options, $"{Path.GetFullPath(modelPath)}|{compute.Device}|{Runtime.ComputeOptions.NameOf(compute.DType)}",
                Studies.GenerationSettings.Describe(template));
            int forwardsPerGeneration = template.Steps * (template.GuidanceScale > 1 ? 2 : 1);
            if (result.GetValue(dryRun))
            {
                DryRun(pipeline, template, settings, forwardsPerGeneration, part, loadSeconds);
                return 0;
            }
            string runFolder = TextAblationRun.RunFolder(outPath);
            var folder = TextAblationRun.Open(runFolder, settings, forwardsPerGeneration);
            AnsiConsole.WriteLine($"text ablation: {options.Prompts.Count} prompts × {options.Seeds.Count} seeds × 3 generations = {TextAblationStudy.Forwards(template, options)} transformer forwards");
            var clock = Stopwatch.StartNew();
            var done = TextAblationRun.RunShard(folder, pipeline, template, settings, part, new Reporter(p =>
            {
                if (p.Done == 1) AnsiConsole.WriteLine($"first cell took {clock.Elapsed.TotalSeconds:F1} s; about {clock.Elapsed.TotalSeconds * (p.Total - 1):F0} s for the rest");
            }));
            if (!part.IsAll)
            {
                ShardSummary.Print(part, done, runFolder, outPath);
                return 0;
            }
            return Report(outPath);
        });
        return command;
    }

    /// <summary>The table and summary from the cells in <paramref name="outPath"/> (also what <c>merge</c> runs); lists missing cells.</summary>
    public static int Report(string outPath, bool requireComplete = false)
    {
        var (summary, total, missing) = WriteTables(outPath);
        AnsiConsole.Write(summary);
        AnsiConsole.WriteLine($"wrote {Path.Combine(outPath, TextAblationStudy.Folder, "text_ablation.csv")}");
        return ShardSummary.Missing("text-ablation", total, missing, requireComplete);
    }

    private static (string Summary, int Total, IReadOnlyList<PlannedCell> Missing) WriteTables(string outPath)
    {
        var (rows, total, missing) = TextAblationRun.Collect(TextAblationRun.RunFolder(outPath));
        string folder = Path.Combine(outPath, TextAblationStudy.Folder);
        Studies.Sparsity.AtomicFile.WriteAllText(Path.Combine(folder, "text_ablation.csv"), TextAblationStudy.Csv(rows));
        string summary = TextAblationStudy.Summary(rows);
        Studies.Sparsity.AtomicFile.WriteAllText(Path.Combine(folder, "summary.txt"), summary);
        return (summary, total, missing);
    }

    /// <summary>Times the first cell (its three generations, every stage) and the table in a scratch folder, and scales by the plan.</summary>
    private static void DryRun(ITextToVideoPipeline pipeline, GenerationRequest template, TextAblationSettings settings, int forwardsPerGeneration, Shard part, double loadSeconds)
    {
        var scratch = Directory.CreateTempSubdirectory("vditlens-dry-run-");
        try
        {
            var one = settings with { Options = settings.Options with { Prompts = new[] { settings.Options.Prompts[0] }, Seeds = new[] { settings.Options.Seeds[0] } } };
            var folder = TextAblationRun.Open(TextAblationRun.RunFolder(scratch.FullName), one, forwardsPerGeneration);
            var clock = Stopwatch.StartNew();
            TextAblationRun.RunShard(folder, pipeline, template, one, Shard.All);
            double cellSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            WriteTables(scratch.FullName);
            var plan = TextAblationRun.Plan(settings, forwardsPerGeneration);
            Estimate.Print(plan, new CellTiming(loadSeconds, 0, cellSeconds, plan.Cells[0].Cost, clock.Elapsed.TotalSeconds), part,
                pipeline.Options.Device.ToString(), generationsPerCell: 3);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private sealed class Reporter(Action<(int Done, int Total)> report) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) => report(value);
    }
}
