using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using VDiTLens.Pipelines;
using VDiTLens.Studies.Maps;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens map</c>: one attention map (site, head, step, branch) of a real generation, streamed to fp16 safetensors, PNG and SVG.</summary>
internal static class MapCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions();
        var prompt = new Option<string>("--prompt") { Description = "the prompt", DefaultValueFactory = _ => "a red square moving right" };
        var negative = new Option<string>("--negative-prompt") { DefaultValueFactory = _ => "" };
        var site = new Option<string>("--site") { Description = "attention site, e.g. blocks.0.attn1 (docs/probes.md)", Required = true };
        var step = new Option<int?>("--step") { Description = "denoising step (default: the middle one)" };
        var branch = new Option<string>("--branch") { Description = "cond or uncond", DefaultValueFactory = _ => "cond" };
        var head = new Option<string>("--head") { Description = "head index, or mean (the mean of the heads' probabilities)", DefaultValueFactory = _ => "mean" };
        var queries = new Option<string>("--queries") { Description = "all, video, text, frame:F, region:F0..F1:Y0..Y1:X0..X1, tokens:i,j, stride:N", DefaultValueFactory = _ => "all" };
        var keys = new Option<string>("--keys") { Description = "the same choices for the key columns (softmax is always over every key)", DefaultValueFactory = _ => "all" };
        var pool = new Option<int>("--pool") { Description = "mean-pool p × p blocks of the selected queries × keys", DefaultValueFactory = _ => 1 };
        var mapType = new Option<string>("--map-dtype") { Description = "dtype of map.safetensors: float16, bfloat16, float32, float64", DefaultValueFactory = _ => "float16" };
        var linear = new Option<bool>("--linear") { Description = "linear colour scale (default log10)" };
        var pictureSize = new Option<int>("--picture-size") { Description = "longer side of the picture in cells (the map is pooled further for the picture only)", DefaultValueFactory = _ => 1024 };
        var memory = new Option<int>("--memory-mb") { Description = "memory for one block of probability rows", DefaultValueFactory = _ => 256 };
        var command = new Command("map", "One attention map of a generation: site, head, step, branch, query/key subset or pooling → safetensors + PNG + SVG");
        foreach (var o in new Option[] { prompt, negative, site, step, branch, head, queries, keys, pool, mapType, linear, pictureSize, memory }) command.Options.Add(o);
        study.AddTo(command);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var compute = common.Resolve(result);
            string modelPath = study.ModelPath(result);
            if (!Directory.Exists(modelPath)) throw new VDiTLensException($"--model {modelPath}: folder not found");
            using var pipeline = TextToVideoPipelines.Load(modelPath, compute);
            var sizes = study.Resolve(result, StudyDefaults.For(pipeline, modelPath));
            string headText = result.GetValue(head)!;
            var options = new MapOptions
            {
                Site = result.GetValue(site)!,
                Step = result.GetValue(step) ?? sizes.Steps / 2,
                Branch = result.GetValue(branch)!,
                Head = headText == "mean" ? null : int.TryParse(headText, out int h) ? h : throw new VDiTLensException($"--head {headText}: use a head index or mean"),
                Queries = TokenSelection.Parse(result.GetValue(queries)!),
                Keys = TokenSelection.Parse(result.GetValue(keys)!),
                Pool = result.GetValue(pool),
                OutputType = result.GetValue(mapType) switch
                {
                    "float16" => TorchSharp.torch.ScalarType.Float16, "bfloat16" => TorchSharp.torch.ScalarType.BFloat16,
                    "float32" => TorchSharp.torch.ScalarType.Float32, "float64" => TorchSharp.torch.ScalarType.Float64,
                    var other => throw new VDiTLensException($"--map-dtype {other}: use float16, bfloat16, float32 or float64"),
                },
                PictureSize = result.GetValue(pictureSize),
                MemoryBudgetBytes = (long)result.GetValue(memory) << 20,
            };
            var clock = Stopwatch.StartNew();
            var request = study.Request(result, sizes) with
            {
                Prompts = new[] { result.GetValue(prompt)! }, NegativePrompt = result.GetValue(negative)!, Seed = compute.Seed,
                OnStep = info =>
                {
                    if (info.Step == 0 && options.Step > 0)
                        AnsiConsole.WriteLine($"step 0 took {clock.Elapsed.TotalSeconds:F1} s; about {clock.Elapsed.TotalSeconds * options.Step:F0} s for the remaining {options.Step} steps");
                },
            };
            int forwards = MapStudy.Forwards(request, options);
            AnsiConsole.WriteLine($"map of {options.Site}, step {options.Step}/{request.Steps}, {options.Branch}: runs {forwards} transformer forwards (steps 0..{options.Step}{(request.GuidanceScale > 1 ? ", cond and uncond" : "")})");
            string folder = Path.Combine(result.GetValue(study.Out)!, "maps", $"{options.Site}.step{options.Step}.{options.Branch}.{(options.Head is { } hh ? $"head{hh}" : "mean")}");
            var map = MapStudy.Run(pipeline, request, options, folder, logScale: !result.GetValue(linear));
            AnsiConsole.WriteLine($"map [{map.Geometry.Rows} × {map.Geometry.Columns}] ({map.Geometry.QueryPositions.Length} queries × {map.Geometry.KeyPositions.Length} keys, pool {options.Pool}) in {clock.Elapsed.TotalSeconds:F1} s");
            AnsiConsole.WriteLine($"wrote {map.TensorPath}, {map.PngPath}, {map.SvgPath}");
            return 0;
        });
        return command;
    }
}
