using System.CommandLine;
using Spectre.Console;
using VDiTLens.Pipelines;
using VDiTLens.Reports;
using VDiTLens.Studies.Structure;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens structure</c>: how alike pooled attention maps are across prompts, seeds, steps and models.</summary>
internal static class StructureCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions();
        var prompts = new Option<string[]>("--prompt") { Description = "prompt; repeat for several (default: 4 procedural prompts)" };
        var seeds = Options.ListOption.Longs("--seeds", "comma list of seeds (default: --seed and --seed + 1)");
        var sites = new Option<string?>("--sites") { Description = "sites to probe: names, prefixes ending in '*', or kinds (default: self,joint)" };
        var branch = new Option<string>("--branch") { Description = "guidance branch whose maps are compared: cond or uncond", DefaultValueFactory = _ => "cond" };
        var tiles = new Option<bool>("--tiles") { Description = "also probe (frame, tile) × (frame, tile) maps" };
        var tileSize = new Option<int>("--tile-size") { Description = "tile side in patches", DefaultValueFactory = _ => 4 };
        var memory = new Option<long>("--probe-memory-mb") { Description = "memory budget of one block of attention rows", DefaultValueFactory = _ => 256 };
        var compare = new Option<string?>("--compare-model") { Description = "second pipeline folder; maps of sites with the same name and pooled grid are compared" };
        var command = new Command("structure", "Similarity of pooled attention maps across prompts, seeds, steps (and models); report section 'structure'");
        foreach (var o in new Option[] { prompts, seeds, sites, branch, tiles, tileSize, memory, compare }) command.Options.Add(o);
        study.AddTo(command);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var compute = common.Resolve(result);
            long seed = compute.Seed;
            var given = result.GetValue(prompts);
            string model = study.ModelPath(result);
            string? other = result.GetValue(compare);
            var report = new HtmlReport(result.GetValue(study.Out)!);
            string cache = report.Asset(Path.Combine(StructureReport.Folder, "maps", "x"));
            cache = Path.GetDirectoryName(cache)!;

            // Sizes left unset follow the first model's pipeline; the compared model generates the same clips.
            StructureOptions options = null!;
            var maps = Collect(model, compute, pipeline =>
            {
                var sizes = study.Resolve(result, StudyDefaults.For(pipeline, model));
                options = new StructureOptions
                {
                    Prompts = given is { Length: > 0 } ? given : StructureOptions.DefaultPrompts,
                    Seeds = result.GetValue(seeds) is { Length: > 0 } s ? s : new[] { seed, seed + 1 },
                    Steps = sizes.Steps, Guidance = sizes.GuidanceScale,
                    Frames = sizes.Frames, Height = sizes.Height, Width = sizes.Width,
                    MaxSequenceLength = sizes.MaxSequenceLength, Branch = result.GetValue(branch)!,
                    Tiles = result.GetValue(tiles), TileSize = result.GetValue(tileSize),
                    Sites = StudyOptions.Split(result.GetValue(sites)) is { Length: > 0 } list ? list : new[] { "self", "joint" },
                    MemoryBudgetBytes = result.GetValue(memory) << 20,
                };
                options.Validate();
                return options;
            }, cache, "maps");
            var otherMaps = other is null ? null : Collect(other, compute, _ => options, cache, "compare");
            var results = options.Kinds.ToDictionary(k => k, k => StructureAnalysis.Analyse(maps[k], otherMaps?[k]));
            StructureReport.Write(report, options, maps, results, model, other);

            var table = new Table().AddColumns("site", "cross-prompt r", "cross-seed r", "cross-step r", "cross-prompt JS");
            if (other is not null) table.AddColumn("cross-model r");
            foreach (var site in results["frame_map"])
            {
                var a = site.HeadAverage;
                var row = new List<string> { Markup.Escape(site.Site), EditReport.F(a.CrossPrompt?.Pearson ?? double.NaN), EditReport.F(a.CrossSeed?.Pearson ?? double.NaN),
                    EditReport.F(a.CrossStep?.Pearson ?? double.NaN), EditReport.F(a.CrossPrompt?.JensenShannon ?? double.NaN) };
                if (other is not null) row.Add(EditReport.F(a.CrossModel?.Pearson ?? double.NaN));
                table.AddRow(row.ToArray());
            }
            AnsiConsole.Write(table);
            AnsiConsole.WriteLine($"wrote {Path.Combine(report.Folder, "index.html")} (section structure) and {Path.Combine(report.Folder, StructureReport.Folder)}/");
            return 0;
        });
        return command;
    }

    private static IReadOnlyDictionary<string, StructureMaps> Collect(string model, Runtime.ComputeOptions compute,
        Func<ITextToVideoPipeline, StructureOptions> optionsFor, string cache, string label)
    {
        using var pipeline = TextToVideoPipelines.Load(model, compute);
        var options = optionsFor(pipeline);
        string id = $"{Path.GetFullPath(model)}|{compute.Device}|{Runtime.ComputeOptions.NameOf(compute.DType)}";
        return StudyOptions.WithProgress($"{label} ({Path.GetFileName(Path.TrimEndingDirectorySeparator(model))})",
            progress => StructureCollector.Collect(pipeline, options, id, cache, label, progress));
    }
}
