using System.Diagnostics;
using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

/// <summary>
/// Device memory at the end of one stage: the driver's used memory over the pre-build baseline (null off CUDA), and
/// the caching allocator's peaks during the stage (PyTorch's <c>max_memory_allocated</c> / <c>max_memory_reserved</c>;
/// null where <see cref="CudaAllocatorStatistics"/> is unavailable). GiB.
/// </summary>
public sealed record StageMemory(double? DriverGiB, double? PeakAllocatedGiB, double? PeakReservedGiB);

/// <summary>What <see cref="PipelineBenchmark.Run"/> measured. Times in ms.</summary>
public sealed record PipelineTiming
{
    public required string Preset { get; init; }
    public required string PipelineClass { get; init; }
    public required string Device { get; init; }
    public required string DType { get; init; }
    public required int Height { get; init; }
    public required int Width { get; init; }
    public required int Frames { get; init; }
    public required int Steps { get; init; }
    public required double GuidanceScale { get; init; }
    public required bool EmbeddedGuidance { get; init; }
    public required bool UseDynamicCfg { get; init; }
    /// <summary>True: cond and uncond in one transformer call of batch 2 per step; false: two calls of batch 1 (as diffusers).</summary>
    public required bool BatchGuidance { get; init; }
    public required bool VaeTiling { get; init; }
    public required int MaxSequenceLength { get; init; }
    public required IReadOnlyDictionary<string, long> Parameters { get; init; }
    public required double BuildSeconds { get; init; }
    public required double WarmupSeconds { get; init; }
    /// <summary>The prompt and, with classifier-free guidance, the negative prompt: encoder calls of batch 1 (as diffusers' encode_prompt).</summary>
    public required double TextEncodingMs { get; init; }
    public required double[] StepMs { get; init; }
    public double StepMedianMs => Median(StepMs);
    /// <summary>The whole denoising call: initial noise, every step, guidance and scheduler.</summary>
    public required double DenoiseMs { get; init; }
    /// <summary>De-normalisation, VAE decode of all frames, and post-processing to float32 [B, F, H, W, 3] on the CPU.</summary>
    public required double DecodeMs { get; init; }
    public double TotalMs => TextEncodingMs + DenoiseMs + DecodeMs;
    public required long[] VideoShape { get; init; }
    /// <summary>Per stage, in order: weights, warm-up, text encoding, denoising, vae decode.</summary>
    public required IReadOnlyDictionary<string, StageMemory> Memory { get; init; }

    private static double Median(double[] xs)
    {
        if (xs.Length == 0) return double.NaN;
        var s = xs.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}

/// <summary>
/// Times a whole text-to-video generation of a random-weight <see cref="PipelinePreset"/> (any family) by stage, with
/// device synchronisation at every stage boundary: text encoding, denoising (each step and in total), VAE decode. A
/// warm-up (the encodings, one step at full size, a 2-latent-frame decode) runs first, so kernel compilation and
/// library initialisation fall outside the timed stages. Per-step times come from the step callback, which
/// synchronises; the pipelines already wait on the device once per step (their finiteness check), so this adds no
/// stall. The caching allocator's peaks are read and reset at each boundary.
/// </summary>
public static class PipelineBenchmark
{
    public const string Prompt = "A cat walks on the grass, realistic style.";
    public const string NegativePrompt = "worst quality, blurred, static";

    /// <param name="fixturesDirectory">Folder the preset's tokenizer fixtures are read from (tests/fixtures).</param>
    /// <param name="memoryGiB">Device memory in use (e.g. <see cref="GpuMemory.UsedGiB"/>), or null when unknown.</param>
    public static PipelineTiming Run(PipelinePreset preset, string fixturesDirectory, ComputeOptions options,
        bool batchGuidance = true, Func<double?>? memoryGiB = null, Action<string>? log = null)
    {
        memoryGiB ??= () => null;
        log ??= _ => { };
        var device = options.Device;
        string folder = Path.Combine(Path.GetTempPath(), $"vditlens-pipeline-{preset.Name}-{Environment.ProcessId}");
        preset.WriteFolder(folder, fixturesDirectory);
        double? baseline = memoryGiB();
        var memory = new Dictionary<string, StageMemory>();
        // The caching allocator exists once the device has allocated (before, resetting its peak fails); after the
        // driver baseline, so the CUDA context counts as use, as in the reference script.
        if (device.type == DeviceType.CUDA) torch.zeros(1, device: device).Dispose();
        CudaAllocatorStatistics.ResetPeak(device);
        void StageEnd(string stage)
        {
            var peaks = CudaAllocatorStatistics.Read(device);
            memory[stage] = new StageMemory(memoryGiB() - baseline, peaks?.PeakAllocatedGiB, peaks?.PeakReservedGiB);
            CudaAllocatorStatistics.ResetPeak(device);
        }

        try
        {
            var clock = Stopwatch.StartNew();
            using var pipeline = TextToVideoPipelines.CreateRandom(folder, options);
            Microbenchmark.Synchronise(device);
            double buildSeconds = clock.Elapsed.TotalSeconds;
            StageEnd("weights");
            log($"built in {buildSeconds:F1} s");

            using var _ = torch.no_grad();
            var request = new GenerationRequest
            {
                GuidanceScale = preset.GuidanceScale,
                UseDynamicCfg = preset.UseDynamicCfg,
                BatchGuidance = batchGuidance,
                Height = preset.Height,
                Width = preset.Width,
                Frames = preset.Frames,
                MaxSequenceLength = preset.MaxSequenceLength,
                Seed = options.Seed,
            };

            clock.Restart();
            Warmup(pipeline, preset, request);
            double warmupSeconds = clock.Elapsed.TotalSeconds;
            StageEnd("warm-up");
            log($"warm-up in {warmupSeconds:F1} s");

            clock.Restart();
            var (cond, uncond) = Encode(pipeline, preset);
            using var condText = cond;
            using var uncondText = uncond;
            Microbenchmark.Synchronise(device);
            double textMs = clock.Elapsed.TotalMilliseconds;
            StageEnd("text encoding");
            log($"text encoding {textMs:F1} ms");

            var stepMs = new List<double>();
            var stepClock = new Stopwatch();
            clock.Restart();
            stepClock.Start();
            using var latents = pipeline.Denoise(WithText(request, cond, uncond) with
            {
                Steps = preset.Steps,
                OnStep = _ =>
                {
                    Microbenchmark.Synchronise(device);
                    stepMs.Add(stepClock.Elapsed.TotalMilliseconds);
                    stepClock.Restart();
                },
            });
            Microbenchmark.Synchronise(device);
            double denoiseMs = clock.Elapsed.TotalMilliseconds;
            StageEnd("denoising");
            log($"denoising {denoiseMs:F1} ms ({preset.Steps} steps, median {(stepMs.Count == 0 ? 0 : stepMs.OrderBy(x => x).ElementAt(stepMs.Count / 2)):F1} ms)");

            clock.Restart();
            using var video = pipeline.DecodeLatents(latents);
            Microbenchmark.Synchronise(device);
            double decodeMs = clock.Elapsed.TotalMilliseconds;
            StageEnd("vae decode");
            log($"vae decode {decodeMs:F1} ms");

            return new PipelineTiming
            {
                Preset = preset.Name,
                PipelineClass = preset.PipelineClass,
                Device = device.ToString(),
                DType = ComputeOptions.NameOf(options.DType),
                Height = preset.Height,
                Width = preset.Width,
                Frames = preset.Frames,
                Steps = preset.Steps,
                GuidanceScale = preset.GuidanceScale,
                EmbeddedGuidance = preset.EmbeddedGuidance,
                UseDynamicCfg = preset.UseDynamicCfg,
                BatchGuidance = batchGuidance,
                VaeTiling = preset.VaeTiling,
                MaxSequenceLength = preset.MaxSequenceLength,
                Parameters = PipelineParameters.Count(pipeline),
                BuildSeconds = buildSeconds,
                WarmupSeconds = warmupSeconds,
                TextEncodingMs = textMs,
                StepMs = stepMs.ToArray(),
                DenoiseMs = denoiseMs,
                DecodeMs = decodeMs,
                VideoShape = video.shape,
                Memory = memory,
            };
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); }
            catch (IOException) { }
        }
    }

    /// <summary>The prompt, and the negative prompt where classifier-free guidance runs (as diffusers' encode_prompt: one call each).</summary>
    private static (TextConditioning Cond, TextConditioning? Uncond) Encode(ITextToVideoPipeline pipeline, PipelinePreset preset)
    {
        var cond = pipeline.EncodeText(new[] { Prompt }, preset.MaxSequenceLength);
        var uncond = preset.ClassifierFreeGuidance ? pipeline.EncodeText(new[] { NegativePrompt }, preset.MaxSequenceLength) : null;
        return (cond, uncond);
    }

    private static GenerationRequest WithText(GenerationRequest request, TextConditioning cond, TextConditioning? uncond) => request with
    {
        PromptEmbeds = cond.Embeds,
        PromptAttentionMask = cond.Mask,
        PooledPromptEmbeds = cond.Pooled,
        NegativePromptEmbeds = uncond?.Embeds,
        NegativePromptAttentionMask = uncond?.Mask,
        NegativePooledPromptEmbeds = uncond?.Pooled,
    };

    /// <summary>Every stage once at full size (one denoising step, a two-latent-frame decode), results discarded.</summary>
    private static void Warmup(ITextToVideoPipeline pipeline, PipelinePreset preset, GenerationRequest request)
    {
        var (cond, uncond) = Encode(pipeline, preset);
        using (cond)
        using (uncond)
        using (var latents = pipeline.Denoise(WithText(request, cond, uncond) with { Steps = MinimumSteps(pipeline) }))
        {
            // CogVideoX keeps its latents frame-major [B, F, C, H, W]; the others [B, C, F, H, W].
            int frameDim = pipeline is CogVideoXPipeline ? 1 : 2;
            using var head = latents.narrow(frameDim, 0, Math.Min(2, latents.shape[frameDim]));
            pipeline.DecodeLatents(head).Dispose();
        }
        Microbenchmark.Synchronise(pipeline.Options.Device);
    }

    /// <summary>Mochi's linear-quadratic sigma schedule needs two steps; the others run one.</summary>
    private static int MinimumSteps(ITextToVideoPipeline pipeline) => pipeline is MochiPipeline ? 2 : 1;
}
