using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using VDiTLens.Cli.Options;
using VDiTLens.Pipelines;
using VDiTLens.Reports;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.Structure;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens structure</c>: how alike pooled attention maps are across prompts, seeds, steps and models.</summary>
internal static class StructureCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions();
        var prompts = new PromptOptions(defaultCount: 4, seedsHelp: "comma list of seeds, the same starting noise for every prompt (default: --seed and --seed + 1)");
        var sites = new Option<string?>("--sites") { Description = "sites to probe: names, prefixes ending in '*', or kinds (default: self,joint)" };
        var branch = new Option<string>("--branch") { Description = "guidance branch whose maps are compared: cond or uncond", DefaultValueFactory = _ => "cond" };
        var tiles = new Option<bool>("--tiles") { Description = "also probe (frame, tile) × (frame, tile) maps" };
        var tileSize = new Option<int>("--tile-size") { Description = "tile side in patches", DefaultValueFactory = _ => 4 };
        var memory = new Option<long>("--probe-memory-mb") { Description = "memory budget of one block of attention rows", DefaultValueFactory = _ => 256 };
        var compare = new Option<string?>("--compare-model") { Description = "second pipeline folder; maps of sites with the same name and pooled grid are compared" };
        var randomNull = new Option<bool>("--random-init-null") { Description = "compare with the same pipeline whose transformer is randomly initialised (seed --seed): the null for how alike maps are by architecture alone" };
        var shard = ShardOption.Create();
        var dryRun = DryRunOption.Create();
        var command = new Command("structure", "Similarity of pooled attention maps across prompts, seeds, steps (and models); report section 'structure'");
        prompts.AddTo(command, withCount: false);
        foreach (var o in new Option[] { sites, branch, tiles, tileSize, memory, compare, randomNull, shard, dryRun }) command.Options.Add(o);
        study.AddTo(command);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var compute = common.Resolve(result);
            long seed = compute.Seed;
            var given = prompts.Given(result);
            string model = study.ModelPath(result);
            string? other = result.GetValue(compare);
            bool withNull = result.GetValue(randomNull);
            if (withNull && other is not null)
                throw new VDiTLensException("--random-init-null and --compare-model both name the compared model; give one of them");
            string outPath = result.GetValue(study.Out)!;
            var part = result.GetValue(shard) ?? Shard.All;
            string Id(string m) => $"{Path.GetFullPath(m)}|{compute.Device}|{Runtime.ComputeOptions.NameOf(compute.DType)}";

            var loading = Stopwatch.StartNew();
            var pipelines = new Dictionary<string, ITextToVideoPipeline> { [StructureStudy.MapsLabel] = TextToVideoPipelines.Load(model, compute) };
            double loadSeconds = loading.Elapsed.TotalSeconds;
            try
            {
                var pipeline = pipelines[StructureStudy.MapsLabel];
                // Sizes left unset follow the first model's pipeline; the compared model generates the same clips.
                var sizes = study.Resolve(result, StudyDefaults.For(pipeline, model));
                var options = new StructureOptions
                {
                    Prompts = given is { Length: > 0 } ? given : StructureOptions.DefaultPrompts,
                    Seeds = result.GetValue(prompts.Seeds) is { Length: > 0 } s ? s : new[] { seed, seed + 1 },
                    Steps = sizes.Steps, Guidance = sizes.GuidanceScale,
                    Frames = sizes.Frames, Height = sizes.Height, Width = sizes.Width,
                    MaxSequenceLength = sizes.MaxSequenceLength, Image = study.FirstFrame(result), Branch = result.GetValue(branch)!,
                    Tiles = result.GetValue(tiles), TileSize = result.GetValue(tileSize),
                    Sites = StudyOptions.Split(result.GetValue(sites)) is { Length: > 0 } list ? list : new[] { "self", "joint" },
                    MemoryBudgetBytes = result.GetValue(memory) << 20,
                };
                options.Validate();
                var settings = withNull ? StructureSettings.WithNull(options, model, Id(model), seed)
                    : new StructureSettings(options, model, Id(model), other, other is null ? null : Id(other));
                ITextToVideoPipeline PipelineFor(string label) =>
                    pipelines.TryGetValue(label, out var p) ? p
                    : pipelines[label] = settings.NullSeed is { } nullSeed ? RandomInitNull.Load(model, compute, nullSeed) : TextToVideoPipelines.Load(other!, compute);
                if (result.GetValue(dryRun))
                {
                    DryRun(settings, part, PipelineFor, loadSeconds, pipeline.Options.Device.ToString());
                    return 0;
                }
                string runFolder = StructureStudy.RunFolder(outPath);
                var folder = StructureStudy.Open(runFolder, settings);
                var done = StudyOptions.WithProgress("maps", progress => StructureStudy.RunShard(folder, settings, part, PipelineFor, progress));
                if (!part.IsAll)
                {
                    ShardSummary.Print(part, done, runFolder, outPath);
                    return 0;
                }
            }
            finally
            {
                foreach (var p in pipelines.Values) p.Dispose();
            }
            return Report(outPath);
        });
        return command;
    }

    /// <summary>The report from the cells in <paramref name="outPath"/> (also what <c>merge</c> runs); lists missing cells.</summary>
    public static int Report(string outPath, bool requireComplete = false)
    {
        var report = new HtmlReport(outPath);
        var outcome = StructureStudy.Report(report, StructureStudy.RunFolder(outPath));
        bool compared = outcome.Settings.CompareModel is not null;
        var table = new Table().AddColumns("site", "cross-prompt r", "cross-seed r", "cross-step r", "cross-prompt JS");
        if (compared) table.AddColumn("cross-model r");
        foreach (var site in outcome.Results["frame_map"])
        {
            var a = site.HeadAverage;
            var row = new List<string> { Markup.Escape(site.Site), EditReport.F(a.CrossPrompt?.Pearson ?? double.NaN), EditReport.F(a.CrossSeed?.Pearson ?? double.NaN),
                EditReport.F(a.CrossStep?.Pearson ?? double.NaN), EditReport.F(a.CrossPrompt?.JensenShannon ?? double.NaN) };
            if (compared) row.Add(EditReport.F(a.CrossModel?.Pearson ?? double.NaN));
            table.AddRow(row.ToArray());
        }
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"wrote {Path.Combine(report.Folder, "index.html")} (section structure) and {Path.Combine(report.Folder, StructureReport.Folder)}/");
        return ShardSummary.Missing("structure", outcome.Total, outcome.Missing, requireComplete);
    }

    /// <summary>Times the first cell (every stage) and the report in a scratch folder, and scales by the plan.</summary>
    private static void DryRun(StructureSettings settings, Shard part, Func<string, ITextToVideoPipeline> pipelineFor, double loadSeconds, string device)
    {
        var plan = StructureStudy.Plan(settings);
        var scratch = Directory.CreateTempSubdirectory("vditlens-dry-run-");
        try
        {
            var one = settings with { Options = settings.Options with { Seeds = new[] { settings.Options.Seeds[0] } }, CompareModel = null, CompareModelId = null, NullSeed = null };
            var folder = StructureStudy.Open(StructureStudy.RunFolder(scratch.FullName), one);
            var clock = Stopwatch.StartNew();
            StudyOptions.WithProgress("timing one cell", progress => StructureStudy.RunShard(folder, one, Shard.All, pipelineFor, progress));
            double cellSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            StructureStudy.Report(new HtmlReport(scratch.FullName), StructureStudy.RunFolder(scratch.FullName));
            Estimate.Print(plan, new CellTiming(loadSeconds, 0, cellSeconds, 1, clock.Elapsed.TotalSeconds), part, device);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }
}
