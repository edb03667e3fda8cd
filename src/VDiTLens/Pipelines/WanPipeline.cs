using System.Diagnostics;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Wan;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.IO;
using VDiTLens.Runtime;
using VDiTLens.Schedulers;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// Wan2.1 text-to-video (diffusers' <c>WanPipeline</c>): prompt cleaning → tokenizer → UMT5 encoder (rows past each
/// prompt's length zeroed) → classifier-free-guided denoising with <see cref="WanTransformer3DModel"/> and the folder's
/// scheduler → latent de-normalisation and Wan VAE decode → video [B, F, H, W, 3] in [0, 1]. Without a VAE the
/// transformer's latents are the video in [-1, 1] (pixel-space tiny models). Not thread-safe: one generation at a time.
/// </summary>
public sealed class WanPipeline : IDisposable
{
    public WanPipelineFolder Folder { get; }
    public ComputeOptions Options { get; }
    public IPromptTokenizer Tokenizer { get; }
    public ITextEncoder TextEncoder { get; }
    public WanTransformer3DModel Transformer { get; }
    public IScheduler Scheduler { get; }
    /// <summary>Null for a pixel-space pipeline.</summary>
    public WanVae? Vae { get; }
    public VideoGeometry Geometry { get; }

    /// <summary>The seam the transformer's attention goes through; its <see cref="AttentionSeam.State"/> follows the loop.</summary>
    public AttentionSeam Seam => Transformer.Seam;

    private WanPipeline(WanPipelineFolder folder, ComputeOptions options, IPromptTokenizer tokenizer, ITextEncoder textEncoder,
        WanTransformer3DModel transformer, IScheduler scheduler, WanVae? vae)
    {
        Folder = folder;
        Options = options;
        Tokenizer = tokenizer;
        TextEncoder = textEncoder;
        Transformer = transformer;
        Scheduler = scheduler;
        Vae = vae;
        var t = folder.TransformerConfig;
        Geometry = vae is null
            ? new VideoGeometry(t.in_channels, 1, 1, t.patch_size, false)
            : new VideoGeometry(t.in_channels, vae.Config.TemporalScale, vae.Config.SpatialScale, t.patch_size, true);
    }

    /// <summary>Loads a diffusers pipeline folder; every component is checked (class, sizes) before weights are read.</summary>
    public static WanPipeline Load(string path, ComputeOptions options) => Build(path, options, randomWeights: false);

    /// <summary>
    /// Builds every component from the folder's configs with freshly initialised (random) weights on the device, in the
    /// options' dtype: no weight file is read, the folder may hold configs and the tokenizer only (benchmarks; see
    /// <see cref="WanPipelinePreset"/>). Seeded with the options' seed.
    /// </summary>
    public static WanPipeline CreateRandom(string path, ComputeOptions options) => Build(path, options, randomWeights: true);

    private static WanPipeline Build(string path, ComputeOptions options, bool randomWeights)
    {
        var folder = WanPipelineFolder.Open(path);
        var tokenizer = TokenizerLoader.Load(folder.TokenizerPath);
        if (tokenizer.VocabularySize > folder.TextEncoderConfig.vocab_size)
            throw new VDiTLensException(
                $"component sizes do not match: the tokenizer ({tokenizer.Source}) has {tokenizer.VocabularySize} ids but text_encoder/config.json vocab_size = {folder.TextEncoderConfig.vocab_size}");
        var scheduler = SchedulerLoader.Load(folder.SchedulerPath);
        var loaded = new List<IDisposable>();
        try
        {
            if (randomWeights) options.ApplySeed();
            ITextEncoder textEncoder = randomWeights
                ? Evaluating(new T5EncoderModel(folder.TextEncoderConfig, options.Device, options.DType))
                : TextEncoderLoader.Load(folder.TextEncoder.Path, options);
            loaded.Add(textEncoder);
            var transformer = randomWeights
                ? Evaluating(new WanTransformer3DModel(folder.TransformerConfig, options.Device, options.DType))
                : WanTransformer3DModel.Load(folder.Transformer, options);
            loaded.Add(transformer);
            var vae = folder.VaeConfig is not { } vaeConfig ? null
                : randomWeights ? Evaluating(new WanVae(vaeConfig, options.Device, options.DType))
                : WanVae.Load(ModelFolder.Open(folder.VaePath!), options);
            return new WanPipeline(folder, options, tokenizer, textEncoder, transformer, scheduler, vae);
        }
        catch
        {
            foreach (var d in loaded) d.Dispose();
            throw;
        }
    }

    private static T Evaluating<T>(T module) where T : nn.Module
    {
        module.eval();
        return module;
    }

    /// <summary>
    /// What the transformer receives for <paramref name="prompts"/>: cleaned, tokenized to <paramref name="maxSequenceLength"/>,
    /// encoded, rows past each prompt's length zeroed; [B, L, text_dim] in the transformer dtype on the device.
    /// </summary>
    public Tensor EncodePrompts(IReadOnlyList<string> prompts, int maxSequenceLength)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        using var tokens = Tokenizer.Encode(prompts.Select(PromptCleaner.Clean).ToArray(), maxSequenceLength);
        var hidden = TextEncoder.Encode(tokens.InputIds.to(Options.Device), tokens.AttentionMask.to(Options.Device));
        var embeds = PromptEmbeddings.ZeroPastLength(hidden, tokens.AttentionMask).to(Options.DType);
        if (!embeds.isfinite().all().item<bool>())
            throw new VDiTLensException($"the text encoder's output is not finite ({Folder.TextEncoder.Path}); check its weights, or run in float32");
        return embeds.MoveToOuterDisposeScope();
    }

    /// <summary>The starting latents: the request's own, or Gaussian noise from a CPU generator seeded with <see cref="GenerationRequest.Seed"/>, float32 on the device.</summary>
    public Tensor InitialLatents(GenerationRequest request)
    {
        var shape = Geometry.LatentShape(request.BatchSize, request.Frames, request.Height, request.Width);
        if (request.InitialLatents is { } given)
        {
            if (!given.shape.SequenceEqual(shape))
                throw new VDiTLensException(
                    $"initial latents are [{string.Join(", ", given.shape)}] but {request.BatchSize} prompt(s) at {request.Frames} frames of {request.Height} × {request.Width} need [{string.Join(", ", shape)}]");
            var latents = given.to(ScalarType.Float32).to(Options.Device);
            if (ReferenceEquals(latents, given)) latents = given.clone();
            if (!latents.isfinite().all().item<bool>())
            {
                latents.Dispose();
                throw new VDiTLensException("the initial latents contain NaN or Inf values");
            }
            return latents;
        }
        // Drawn on the CPU in float32 then moved, so a seed gives the same noise on every device (as diffusers with a CPU generator).
        using var generator = new Generator((ulong)request.Seed);
        using var noise = torch.randn(shape, ScalarType.Float32, torch.CPU, generator: generator);
        return noise.to(Options.Device).clone();
    }

    /// <summary>Runs the whole generation; returns the video [B, F, H, W, 3] float32 in [0, 1] on the CPU.</summary>
    public Tensor Generate(GenerationRequest request)
    {
        using var latents = Denoise(request);
        return DecodeLatents(latents);
    }

    /// <summary>The denoising loop only: the final latents (float32, on the device), before de-normalisation and decoding.</summary>
    public Tensor Denoise(GenerationRequest request)
    {
        Validate(request);
        using var _ = torch.no_grad();
        int batch = request.BatchSize;
        bool guided = request.GuidanceScale > 1.0;
        var latents = InitialLatents(request);
        try
        {
            using var cond = request.PromptEmbeds is { } givenCond
                ? GivenEmbeddings(givenCond, batch, "PromptEmbeds")
                : EncodePrompts(request.Prompts, request.MaxSequenceLength);
            using var uncond = !guided ? null
                : request.NegativePromptEmbeds is { } givenUncond
                    ? GivenEmbeddings(givenUncond, batch, "NegativePromptEmbeds")
                    : EncodePrompts(Enumerable.Repeat(request.NegativePrompt, batch).ToArray(), request.MaxSequenceLength);
            if (uncond is not null && uncond.shape[1] != cond.shape[1])
                throw new VDiTLensException($"PromptEmbeds has {cond.shape[1]} tokens but the unconditional embeddings have {uncond.shape[1]}; batched guidance needs the same length (encode both with the same max_sequence_length)");
            using var both = guided && request.BatchGuidance ? torch.cat(new[] { cond, uncond! }, 0) : null;
            Scheduler.SetTimesteps(request.Steps);
            Scheduler.Reset();
            int steps = (int)Scheduler.Timesteps.shape[0];
            var clock = Stopwatch.StartNew();
            request.Progress?.Report(GenerationProgress.After(0, steps, TimeSpan.Zero));
            var state = Seam.State;
            try
            {
                for (int i = 0; i < steps; i++)
                {
                    request.Cancellation.ThrowIfCancellationRequested();
                    var step = Step(i, latents, cond, uncond, both, request);
                    latents.Dispose();
                    latents = step.TakeLatents();
                    // The callback runs outside the step's dispose scope, so what it clones is the caller's to keep.
                    using (step)
                        request.OnStep?.Invoke(new StepInfo(i, steps, state.Timestep, step.Latents, step.Guided, step.Cond, step.Uncond));
                    request.Progress?.Report(GenerationProgress.After(i + 1, steps, clock.Elapsed));
                }
            }
            finally
            {
                state.Reset();
            }
            return latents;
        }
        catch
        {
            latents.Dispose();
            throw;
        }
    }

    /// <summary>A caller's embeddings, checked, as a new tensor in the transformer dtype on the device.</summary>
    private Tensor GivenEmbeddings(Tensor embeds, int batch, string what)
    {
        long textDim = Folder.TransformerConfig.text_dim;
        if (embeds.dim() != 3 || embeds.shape[0] != batch || embeds.shape[2] != textDim)
            throw new VDiTLensException($"{what} is [{string.Join(", ", embeds.shape)}]; it must be [{batch}, L, {textDim}] (batch, tokens, the transformer's text_dim)");
        using var scope = torch.NewDisposeScope();
        var moved = embeds.alias().to(Options.DType).to(Options.Device);
        if (!moved.isfinite().all().item<bool>())
            throw new VDiTLensException($"{what} contains NaN or Inf values");
        return moved.MoveToOuterDisposeScope();
    }

    private StepTensors Step(int i, Tensor latents, Tensor cond, Tensor? uncond, Tensor? both, GenerationRequest request)
    {
        using var scope = torch.NewDisposeScope();
        int batch = (int)latents.shape[0];
        var state = Seam.State;
        var t = Scheduler.Timesteps[i];
        state.Step = i;
        state.Timestep = t.to(ScalarType.Float64).item<double>();
        Tensor condPrediction;
        Tensor? uncondPrediction = null;
        if (both is not null)
        {
            var output = Forward(i, torch.cat(new[] { latents, latents }, 0), t, both, "cfg", BatchLayout.Guided(batch));
            condPrediction = output.narrow(0, 0, batch);
            uncondPrediction = output.narrow(0, batch, batch);
        }
        else
        {
            condPrediction = Forward(i, latents, t, cond, "cond", BatchLayout.Uniform("cond", batch));
            if (uncond is not null)
                uncondPrediction = Forward(i, latents, t, uncond, "uncond", BatchLayout.Uniform("uncond", batch));
        }
        var guided = uncondPrediction is null
            ? condPrediction
            : uncondPrediction + request.GuidanceScale * (condPrediction - uncondPrediction);
        var next = Scheduler.Step(guided, i, latents);
        if (!next.isfinite().all().item<bool>())
            throw new VDiTLensException($"step {i} (timestep {state.Timestep}): the scheduler ({Scheduler.ClassName}) produced non-finite latents from finite model outputs");
        return new StepTensors(next.DetachFromDisposeScope(), guided.DetachFromDisposeScope(),
            condPrediction.DetachFromDisposeScope(), uncondPrediction?.DetachFromDisposeScope());
    }

    /// <summary>One step's outputs, detached from any dispose scope; disposing frees all but a taken latent.</summary>
    private sealed class StepTensors(Tensor latents, Tensor guided, Tensor cond, Tensor? uncond) : IDisposable
    {
        private bool _taken;
        public Tensor Latents { get; } = latents;
        public Tensor Guided { get; } = guided;
        public Tensor Cond { get; } = cond;
        public Tensor? Uncond { get; } = uncond;

        public Tensor TakeLatents()
        {
            _taken = true;
            return Latents;
        }

        public void Dispose()
        {
            if (!ReferenceEquals(Guided, Cond)) Guided.Dispose();
            Cond.Dispose();
            Uncond?.Dispose();
            if (!_taken) Latents.Dispose();
        }
    }

    /// <summary>Latents [B, C, F, H, W] → video [B, F', H', W', 3] float32 in [0, 1] on the CPU (VAE decode, or the latents themselves without a VAE).</summary>
    public Tensor DecodeLatents(Tensor latents)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        Tensor pixels;
        if (Vae is { } vae)
            pixels = vae.Decode(vae.Denormalize(latents.to(vae.DType)));
        else
            pixels = latents.clamp(-1.0, 1.0);
        if (!pixels.isfinite().all().item<bool>())
            throw new VDiTLensException(Vae is null ? "the final latents are not finite" : "the VAE decode produced non-finite values; check the vae weights, or run in float32");
        // diffusers' postprocess_video: x / 2 + 0.5 clamped to [0, 1], channels last
        var video = (pixels / 2 + 0.5).clamp(0.0, 1.0).permute(0, 2, 3, 4, 1).to(ScalarType.Float32).cpu().contiguous();
        return video.MoveToOuterDisposeScope();
    }

    private Tensor Forward(int step, Tensor latents, Tensor t, Tensor text, string branch, BatchLayout layout)
    {
        Seam.State.Branch = branch;
        Seam.State.Batch = layout;
        var timestep = t.expand(latents.shape[0]).to(Options.Device);
        var output = Transformer.Forward(latents, timestep, text);
        if (output.isfinite().all().item<bool>()) return output;

        // Re-run the same call with a probe to name where the first non-finite value appeared.
        var locator = new NonFiniteLocator();
        using (Seam.Attach(locator))
            Transformer.Forward(latents, timestep, text).Dispose();
        throw new VDiTLensException(
            $"step {step} (timestep {Seam.State.Timestep}, branch {branch}): the transformer output is not finite; {locator.Describe()}. " +
            $"Check the transformer weights ({Folder.Transformer.Path}), or run in float32/bfloat16 if this is float16 overflow");
    }

    private static void Validate(GenerationRequest request)
    {
        if (request.BatchSize == 0) throw new VDiTLensException("no prompt given: a generation needs at least one prompt (or PromptEmbeds)");
        if (request.Steps < 1) throw new VDiTLensException($"steps = {request.Steps}: at least 1 denoising step is needed");
        if (!double.IsFinite(request.GuidanceScale)) throw new VDiTLensException($"guidance scale {request.GuidanceScale} is not a finite number");
        if (request.MaxSequenceLength < 1) throw new VDiTLensException($"max_sequence_length = {request.MaxSequenceLength}: must be at least 1");
    }

    public void Dispose()
    {
        Transformer.Dispose();
        TextEncoder.Dispose();
        Vae?.Dispose();
    }
}
