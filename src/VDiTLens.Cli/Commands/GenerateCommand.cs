using System.CommandLine;
using Spectre.Console;
using VDiTLens.Cli.Progress;
using VDiTLens.Attention;
using VDiTLens.Interventions.Config;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.IO;
using VDiTLens.IO.Video;
using VDiTLens.Pipelines;
using VDiTLens.Reports.Explorer;
using static TorchSharp.torch;

namespace VDiTLens.Cli.Commands;

internal static class GenerateCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions($"diffusers pipeline folder (model_index.json + components), run by its _class_name: {string.Join(", ", TextToVideoPipelines.SupportedClasses)}");
        var prompt = new Option<string[]>("--prompt") { Description = "prompt; repeat for a batch (one video each)", Required = true, AllowMultipleArgumentsPerToken = false };
        var negative = new Option<string>("--negative-prompt") { Description = "prompt of the unconditional branch", DefaultValueFactory = _ => "" };
        var dynamicCfg = new Option<bool>("--dynamic-cfg") { Description = "CogVideoX only: diffusers' use_dynamic_cfg (guidance scale rising over the steps)" };
        var latents = new Option<string?>("--latents") { Description = "safetensors file with the initial latents under key 'latents' (instead of seeded noise)" };
        var fps = new Option<double>("--fps") { Description = "frames per second of .mp4/.gif output", DefaultValueFactory = _ => 16 };
        var guidance2 = new Option<double?>("--guidance-scale-2", "--guidance-2") { Description = "Wan2.2 A14B only: diffusers' guidance_scale_2, the guidance scale of the low-noise expert (transformer_2); default: --guidance" };
        var placement = new Option<string>("--expert-placement") { Description = "Wan2.2 A14B only: auto (both experts on the GPU when they fit, docs/pipeline.md), both, or active (only the expert in use on the GPU)", DefaultValueFactory = _ => "auto" };
        var split = new Option<bool>("--split-guidance") { Description = "run cond and uncond as two transformer calls instead of one batched call" };
        var interventions = new Option<string?>("--interventions") { Description = "intervention config: a JSON list [{\"type\":\"block_topk\",\"sparsity\":0.85,\"sites\":[\"self\"]}, ...] or a file holding it (types and fields: docs/sparsity.md)" };
        var explorerOut = new Option<string?>("--explorer") { Description = "also write the interactive attention explorer of this run into this report folder (index.html; options --explorer-*, docs/reports.md)" };
        var explorer = new ExplorerCliOptions();
        var output = new Option<string>("--out") { Description = "output file: .mp4 (ffmpeg; .gif without it), .gif, .png (frames) or .safetensors (key 'video')", Required = true };
        var command = new Command("generate", "Text-to-video (and Wan image-to-video) with a diffusers pipeline folder (Wan2.1, Wan2.2, CogVideoX, Mochi-1, HunyuanVideo)");
        study.AddTo(command, withOut: false);
        foreach (var o in new Option[] { prompt, negative, dynamicCfg, guidance2, placement, latents, fps, split, interventions, output, explorerOut })
            command.Options.Add(o);
        explorer.AddTo(command, withOff: false);
        common.AddTo(command);
        command.SetAction(result =>
        {
            string outPath = result.GetValue(output)!;
            if (!VideoWriter.Extensions.Contains(Path.GetExtension(outPath).ToLowerInvariant()))
                throw new VDiTLensException($"--out {outPath}: unknown output format (use {string.Join(", ", VideoWriter.Extensions)})");
            string? explorerFolder = result.GetValue(explorerOut);
            if (explorerFolder is null && explorer.Given(result).FirstOrDefault() is { } stray)
                throw new VDiTLensException($"{stray} needs --explorer DIR (the report folder the explorer is written to)");
            var options = common.Resolve(result);
            string model = study.ModelPath(result);
            using var pipeline = LoadPipeline(model, options, result.GetValue(placement)!);
            using var initial = result.GetValue(latents) is { } file ? Options.TensorFile.Load(file, "latents", "--latents") : null;
            var request = study.Request(result, StudyDefaults.For(pipeline, model)) with
            {
                Prompts = result.GetValue(prompt)!,
                NegativePrompt = result.GetValue(negative)!,
                UseDynamicCfg = result.GetValue(dynamicCfg),
                GuidanceScale2 = result.GetValue(guidance2),
                InitialLatents = initial,
                Seed = options.Seed,
                BatchGuidance = !result.GetValue(split),
            };
            var attached = LoadInterventions(result.GetValue(interventions));
            using var detach = new Detacher(attached.Select(i => pipeline.Seam.Attach(i)).ToArray());
            Tensor video = null!;
            ProgressDisplay.Run(ctx =>
                {
                    var task = ctx.AddTask("denoising", maxValue: request.Steps);
                    var run = request with
                    {
                        Progress = new SynchronousProgress<GenerationProgress>(p =>
                        {
                            task.MaxValue = p.Total;
                            task.Value = p.Completed;
                            task.Description = $"step {p.Completed}/{p.Total}, ETA {p.EstimatedRemaining:mm\\:ss}";
                        }),
                    };
                    video = explorerFolder is null ? pipeline.Generate(run)
                        : ExplorerRun.GenerateReport(pipeline, run, explorer.Resolve(result), explorerFolder).Video;
                    task.Description = "decoded";
                });
            using (video)
            {
                var written = VideoWriter.Write(outPath, video, result.GetValue(fps));
                if (Path.GetExtension(outPath).Equals(".mp4", StringComparison.OrdinalIgnoreCase) && written.All(f => f.EndsWith(".gif", StringComparison.Ordinal)))
                    AnsiConsole.MarkupLine("[yellow]ffmpeg is not on PATH: wrote animated GIF instead of MP4[/]");
                AnsiConsole.WriteLine($"wrote {string.Join(", ", written)} (video [{string.Join(", ", video.shape)}])");
                if (explorerFolder is not null)
                    AnsiConsole.WriteLine($"attention explorer: {Path.GetFullPath(Path.Combine(explorerFolder, "index.html"))}");
                foreach (var (sparse, i) in attached.Select((a, i) => (a as ISparseIntervention, i)).Where(x => x.Item1 is not null))
                    AnsiConsole.WriteLine($"intervention #{i}: density {sparse!.Density.Overall:F3} over {sparse.Density.BySite.Count} sites");
            }
            return 0;
        });
        return command;
    }

    private static IReadOnlyList<IAttentionIntervention> LoadInterventions(string? text) => text switch
    {
        null => Array.Empty<IAttentionIntervention>(),
        _ when text.TrimStart().StartsWith('[') => InterventionFactory.FromJson(text),
        _ when File.Exists(text) => InterventionFactory.FromFile(text),
        _ => throw new VDiTLensException($"--interventions {text}: neither a JSON list nor an existing file"),
    };

    private static ITextToVideoPipeline LoadPipeline(string model, VDiTLens.Runtime.ComputeOptions options, string placement)
    {
        var chosen = placement.Trim().ToLowerInvariant() switch
        {
            "auto" => ExpertPlacement.Auto,
            "both" => ExpertPlacement.BothOnDevice,
            "active" => ExpertPlacement.ActiveOnly,
            _ => throw new VDiTLensException($"--expert-placement {placement}: use auto, both or active"),
        };
        if (chosen == ExpertPlacement.Auto) return TextToVideoPipelines.Load(model, options);
        if (!PipelineFolder.IsPipeline(model) || !WanPipelineFolder.PipelineClasses.Contains(PipelineFolder.Open(model).ClassName))
            throw new VDiTLensException($"--expert-placement {placement}: only a WanPipeline or WanImageToVideoPipeline folder (Wan2.2 A14B) has experts to place");
        return WanPipeline.Load(model, options, chosen);
    }
}
