using System.CommandLine;
using Spectre.Console;
using VDiTLens.Attention;
using VDiTLens.Interventions.Config;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.IO;
using VDiTLens.IO.Video;
using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Cli.Commands;

internal static class GenerateCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var model = new Option<string>("--model") { Description = $"diffusers pipeline folder (model_index.json + components), run by its _class_name: {string.Join(", ", TextToVideoPipelines.SupportedClasses)}", Required = true };
        var prompt = new Option<string[]>("--prompt") { Description = "prompt; repeat for a batch (one video each)", Required = true, AllowMultipleArgumentsPerToken = false };
        var negative = new Option<string>("--negative-prompt") { Description = "prompt of the unconditional branch", DefaultValueFactory = _ => "" };
        var guidance = new Option<double?>("--guidance") { Description = "classifier-free guidance scale (≤ 1: no guidance); default: the pipeline's (Wan 5, CogVideoX 6, Mochi 4.5)" };
        var dynamicCfg = new Option<bool>("--dynamic-cfg") { Description = "CogVideoX only: diffusers' use_dynamic_cfg (guidance scale rising over the steps)" };
        var steps = new Option<int?>("--steps") { Description = "denoising steps; default: the pipeline's (Wan 50, CogVideoX 50, Mochi 64)" };
        var height = new Option<int?>("--height") { Description = "video height in pixels; default: Wan 480, CogVideoX sample_height · 8, Mochi 480" };
        var width = new Option<int?>("--width") { Description = "video width in pixels; default: Wan 832, CogVideoX sample_width · 8, Mochi 848" };
        var frames = new Option<int?>("--frames") { Description = "frame count (Wan, CogVideoX: 1 + 4k; Mochi: 1 + 6k, others round down); default: Wan 81, CogVideoX sample_frames, Mochi 19" };
        var maxLength = new Option<int?>("--max-sequence-length") { Description = "prompt tokens (padded/truncated); default: Wan the tokenizer's model_max_length, else 512; CogVideoX 226; Mochi 256" };
        var latents = new Option<string?>("--latents") { Description = "safetensors file with the initial latents under key 'latents' (instead of seeded noise)" };
        var fps = new Option<double>("--fps") { Description = "frames per second of .mp4/.gif output", DefaultValueFactory = _ => 16 };
        var split = new Option<bool>("--split-guidance") { Description = "run cond and uncond as two transformer calls instead of one batched call" };
        var interventions = new Option<string?>("--interventions") { Description = "intervention config: a JSON list [{\"type\":\"block_topk\",\"sparsity\":0.85,\"sites\":[\"self\"]}, ...] or a file holding it (types and fields: docs/sparsity.md)" };
        var output = new Option<string>("--out") { Description = "output file: .mp4 (ffmpeg; .gif without it), .gif, .png (frames) or .safetensors (key 'video')", Required = true };
        var command = new Command("generate", "Text-to-video with a diffusers pipeline folder (Wan2.1, CogVideoX, Mochi-1)");
        foreach (var o in new Option[] { model, prompt, negative, guidance, dynamicCfg, steps, height, width, frames, maxLength, latents, fps, split, interventions, output })
            command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(result =>
        {
            string outPath = result.GetValue(output)!;
            if (!VideoWriter.Extensions.Contains(Path.GetExtension(outPath).ToLowerInvariant()))
                throw new VDiTLensException($"--out {outPath}: unknown output format (use {string.Join(", ", VideoWriter.Extensions)})");
            var options = common.Resolve(result);
            using var pipeline = TextToVideoPipelines.Load(result.GetValue(model)!, options);
            var defaults = pipeline.Defaults;
            using var initial = result.GetValue(latents) is { } file ? LoadLatents(file) : null;
            var request = new GenerationRequest
            {
                Prompts = result.GetValue(prompt)!,
                NegativePrompt = result.GetValue(negative)!,
                GuidanceScale = result.GetValue(guidance) ?? defaults.GuidanceScale,
                UseDynamicCfg = result.GetValue(dynamicCfg),
                Steps = result.GetValue(steps) ?? defaults.Steps,
                Height = result.GetValue(height) ?? defaults.Height,
                Width = result.GetValue(width) ?? defaults.Width,
                Frames = result.GetValue(frames) ?? defaults.Frames,
                MaxSequenceLength = result.GetValue(maxLength) ?? defaults.MaxSequenceLength,
                InitialLatents = initial,
                Seed = options.Seed,
                BatchGuidance = !result.GetValue(split),
            };
            var attached = LoadInterventions(result.GetValue(interventions));
            using var detach = new Detacher(attached.Select(i => pipeline.Seam.Attach(i)).ToArray());
            Tensor video = null!;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("denoising", maxValue: request.Steps);
                    video = pipeline.Generate(request with
                    {
                        Progress = new Reporter(p =>
                        {
                            task.MaxValue = p.Total;
                            task.Value = p.Completed;
                            task.Description = $"step {p.Completed}/{p.Total}, ETA {p.EstimatedRemaining:mm\\:ss}";
                        }),
                    });
                    task.Description = "decoded";
                });
            using (video)
            {
                var written = VideoWriter.Write(outPath, video, result.GetValue(fps));
                if (Path.GetExtension(outPath).Equals(".mp4", StringComparison.OrdinalIgnoreCase) && written.All(f => f.EndsWith(".gif", StringComparison.Ordinal)))
                    AnsiConsole.MarkupLine("[yellow]ffmpeg is not on PATH: wrote animated GIF instead of MP4[/]");
                AnsiConsole.WriteLine($"wrote {string.Join(", ", written)} (video [{string.Join(", ", video.shape)}])");
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

    private sealed class Detacher(IReadOnlyList<IDisposable> handles) : IDisposable
    {
        public void Dispose()
        {
            foreach (var h in handles) h.Dispose();
        }
    }

    private static Tensor LoadLatents(string file)
    {
        if (!File.Exists(file)) throw new VDiTLensException($"--latents {file}: file not found");
        using var tensors = SafeTensorsFile.Open(file);
        if (!tensors.Contains("latents"))
            throw new VDiTLensException($"--latents {file}: no tensor 'latents' (has: {string.Join(", ", tensors.Names)})");
        return tensors.Load("latents", dtype: ScalarType.Float32);
    }

    /// <summary>Reports synchronously on the generating thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class Reporter(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
