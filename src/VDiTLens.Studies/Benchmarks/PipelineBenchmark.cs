using System.Diagnostics;
using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

/// <summary>What <see cref="PipelineBenchmark.Run"/> measured. Times in ms; memory in GiB over the baseline taken before the build.</summary>
public sealed record PipelineTiming
{
    public required string Preset { get; init; }
    public required string Device { get; init; }
    public required string DType { get; init; }
    public required int Height { get; init; }
    public required int Width { get; init; }
    public required int Frames { get; init; }
    public required int Steps { get; init; }
    public required double GuidanceScale { get; init; }
    /// <summary>True: cond and uncond in one transformer call of batch 2 per step; false: two calls of batch 1 (as diffusers).</summary>
    public required bool BatchGuidance { get; init; }
    public required int MaxSequenceLength { get; init; }
    public required IReadOnlyDictionary<string, long> Parameters { get; init; }
    public required double BuildSeconds { get; init; }
    public required double WarmupSeconds { get; init; }
    /// <summary>Prompt and negative prompt, two encoder calls of batch 1 (as diffusers' encode_prompt).</summary>
    public required double TextEncodingMs { get; init; }
    public required double[] StepMs { get; init; }
    public double StepMedianMs => Median(StepMs);
    /// <summary>The whole denoising call: initial noise, every step, guidance and scheduler.</summary>
    public required double DenoiseMs { get; init; }
    /// <summary>De-normalisation, VAE decode of all frames, and post-processing to float32 [B, F, H, W, 3] on the CPU.</summary>
    public required double DecodeMs { get; init; }
    public double TotalMs => TextEncodingMs + DenoiseMs + DecodeMs;
    public required long[] VideoShape { get; init; }
    /// <summary>Device memory growth over the pre-build baseline after each stage (driver view; null off CUDA).</summary>
    public required IReadOnlyDictionary<string, double?> MemoryGiB { get; init; }

    private static double Median(double[] xs)
    {
        if (xs.Length == 0) return double.NaN;
        var s = xs.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}

/// <summary>
/// Times a whole text-to-video generation of a random-weight <see cref="WanPipelinePreset"/> by stage, with device
/// synchronisation at every stage boundary: text encoding, denoising (each step and in total), VAE decode. A warm-up
/// (both encodings, one step at full size, a 2-latent-frame decode) runs first, so kernel compilation and
/// library initialisation fall outside the timed stages. Per-step times come from the step callback, which
/// synchronises; the pipeline already waits on the device once per step (its finiteness check), so this adds no stall.
/// </summary>
public static class PipelineBenchmark
{
    public const string Prompt = "A cat walks on the grass, realistic style.";
    public const string NegativePrompt = "worst quality, blurred, static";

    /// <param name="memoryGiB">Device memory in use (e.g. <see cref="GpuMemory.UsedGiB"/>), or null when unknown.</param>
    public static PipelineTiming Run(WanPipelinePreset preset, string tokenizerDirectory, ComputeOptions options,
        int? steps = null, double guidanceScale = 5.0, bool batchGuidance = true, Func<double?>? memoryGiB = null, Action<string>? log = null)
    {
        memoryGiB ??= () => null;
        log ??= _ => { };
        var device = options.Device;
        string folder = Path.Combine(Path.GetTempPath(), $"vditlens-pipeline-{preset.Name}-{Environment.ProcessId}");
        preset.WriteFolder(folder, tokenizerDirectory);
        double? baseline = memoryGiB();
        var memory = new Dictionary<string, double?>();
        void Sample(string stage) => memory[stage] = memoryGiB() - baseline;

        var clock = Stopwatch.StartNew();
        using var pipeline = WanPipeline.CreateRandom(folder, options);
        Microbenchmark.Synchronise(device);
        double buildSeconds = clock.Elapsed.TotalSeconds;
        Sample("weights");
        log($"built in {buildSeconds:F1} s");

        using var _ = torch.no_grad();
        var request = new GenerationRequest
        {
            GuidanceScale = guidanceScale,
            BatchGuidance = batchGuidance,
            Height = preset.Height,
            Width = preset.Width,
            Frames = preset.Frames,
            MaxSequenceLength = preset.MaxSequenceLength,
            Seed = options.Seed,
        };

        clock.Restart();
        Warmup(pipeline, request);
        double warmupSeconds = clock.Elapsed.TotalSeconds;
        log($"warm-up in {warmupSeconds:F1} s");

        clock.Restart();
        using var cond = pipeline.EncodePrompts(new[] { Prompt }, preset.MaxSequenceLength);
        using var uncond = pipeline.EncodePrompts(new[] { NegativePrompt }, preset.MaxSequenceLength);
        Microbenchmark.Synchronise(device);
        double textMs = clock.Elapsed.TotalMilliseconds;
        Sample("text encoding");
        log($"text encoding {textMs:F1} ms");

        int n = steps ?? preset.Steps;
        var stepMs = new List<double>();
        var stepClock = new Stopwatch();
        clock.Restart();
        stepClock.Start();
        using var latents = pipeline.Denoise(request with
        {
            Steps = n,
            PromptEmbeds = cond,
            NegativePromptEmbeds = uncond,
            OnStep = _ =>
            {
                Microbenchmark.Synchronise(device);
                stepMs.Add(stepClock.Elapsed.TotalMilliseconds);
                stepClock.Restart();
            },
        });
        Microbenchmark.Synchronise(device);
        double denoiseMs = clock.Elapsed.TotalMilliseconds;
        Sample("denoising");
        log($"denoising {denoiseMs:F1} ms ({n} steps, median {(stepMs.Count == 0 ? 0 : stepMs.OrderBy(x => x).ElementAt(stepMs.Count / 2)):F1} ms)");

        clock.Restart();
        using var video = pipeline.DecodeLatents(latents);
        Microbenchmark.Synchronise(device);
        double decodeMs = clock.Elapsed.TotalMilliseconds;
        Sample("vae decode");
        log($"vae decode {decodeMs:F1} ms");

        try { Directory.Delete(folder, recursive: true); }
        catch (IOException) { }

        return new PipelineTiming
        {
            Preset = preset.Name,
            Device = device.ToString(),
            DType = ComputeOptions.NameOf(options.DType),
            Height = preset.Height,
            Width = preset.Width,
            Frames = preset.Frames,
            Steps = n,
            GuidanceScale = guidanceScale,
            BatchGuidance = batchGuidance,
            MaxSequenceLength = preset.MaxSequenceLength,
            Parameters = new Dictionary<string, long>
            {
                ["transformer"] = CountParameters(pipeline.Transformer),
                ["text_encoder"] = CountParameters((nn.Module)pipeline.TextEncoder),
                ["vae"] = pipeline.Vae is null ? 0 : CountParameters(pipeline.Vae),
            },
            BuildSeconds = buildSeconds,
            WarmupSeconds = warmupSeconds,
            TextEncodingMs = textMs,
            StepMs = stepMs.ToArray(),
            DenoiseMs = denoiseMs,
            DecodeMs = decodeMs,
            VideoShape = video.shape,
            MemoryGiB = memory,
        };
    }

    /// <summary>Every stage once at full size (one denoising step, a two-latent-frame decode), results discarded.</summary>
    private static void Warmup(WanPipeline pipeline, GenerationRequest request)
    {
        using var cond = pipeline.EncodePrompts(new[] { Prompt }, request.MaxSequenceLength);
        using var uncond = pipeline.EncodePrompts(new[] { NegativePrompt }, request.MaxSequenceLength);
        using var latents = pipeline.Denoise(request with { Steps = 1, PromptEmbeds = cond, NegativePromptEmbeds = uncond });
        using var head = latents.narrow(2, 0, Math.Min(2, latents.shape[2]));
        pipeline.DecodeLatents(head).Dispose();
        Microbenchmark.Synchronise(pipeline.Options.Device);
    }

    private static long CountParameters(nn.Module module) => module.parameters().Sum(p => p.numel());
}
