using VDiTLens.Models.Common;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.CogVideoX;
using VDiTLens.Models.CogVideoX.Vae;
using VDiTLens.Runtime;
using VDiTLens.Schedulers;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// CogVideoX text-to-video (diffusers' <c>CogVideoXPipeline</c>): T5 tokenizer (padded to max_sequence_length, 226 by
/// default) → T5 encoder with NO attention mask → classifier-free-guided denoising (optionally with diffusers' dynamic
/// guidance) with <see cref="CogVideoXTransformer3DModel"/> on frame-major latents [B, F, C, H, W], the 5B-style rotary
/// tables made once as the pipeline makes them, and the folder's CogVideoX DDIM/DPM scheduler → latents · 1/scaling_factor,
/// permuted to [B, C, F, H, W], <see cref="CogVideoXVae"/> decode → video [B, F, H, W, 3] in [0, 1].
/// As in diffusers the latents are kept in the model dtype between steps and the guidance runs in float32.
/// Not thread-safe: one generation at a time.
/// </summary>
public sealed class CogVideoXPipeline : ITextToVideoPipeline
{
    public CogVideoXPipelineFolder Folder { get; }
    public ComputeOptions Options { get; }
    public IPromptTokenizer Tokenizer { get; }
    public ITextEncoder TextEncoder { get; }
    public CogVideoXTransformer3DModel Transformer { get; }
    public IScheduler Scheduler { get; }
    public CogVideoXVae Vae { get; }
    public VideoGeometry Geometry { get; }
    public string ClassName => CogVideoXPipelineFolder.PipelineClass;
    public AttentionSeam Seam => Transformer.Seam;
    IVideoTransformer ITextToVideoPipeline.Transformer => Transformer;

    public IReadOnlyList<AttentionSite> Sites => Transformer.Sites;

    /// <summary>diffusers' CogVideoXPipeline defaults: the transformer's sample size and frames, guidance 6, 50 steps, 226 tokens.</summary>
    public GenerationDefaults Defaults => GenerationDefaults.CogVideoX(
        Transformer.Config.sample_height * Geometry.SpatialScale, Transformer.Config.sample_width * Geometry.SpatialScale, Transformer.Config.sample_frames);

    private CogVideoXPipeline(CogVideoXPipelineFolder folder, ComputeOptions options, IPromptTokenizer tokenizer, ITextEncoder textEncoder,
        CogVideoXTransformer3DModel transformer, IScheduler scheduler, CogVideoXVae vae)
    {
        Folder = folder;
        Options = options;
        Tokenizer = tokenizer;
        TextEncoder = textEncoder;
        Transformer = transformer;
        Scheduler = scheduler;
        Vae = vae;
        int p = transformer.Config.patch_size;
        Geometry = new VideoGeometry(transformer.Config.in_channels, vae.Config.TemporalScale, vae.Config.SpatialScale, new[] { 1, p, p }, true);
    }

    /// <summary>Loads a diffusers pipeline folder; every component is checked (class, sizes) before weights are read.</summary>
    public static CogVideoXPipeline Load(string path, ComputeOptions options) => Build(path, options, randomWeights: false);

    /// <summary>
    /// Every component from the folder's configs with freshly initialised (random) weights, seeded with the options'
    /// seed; the folder may hold configs and the tokenizer only.
    /// </summary>
    public static CogVideoXPipeline CreateRandom(string path, ComputeOptions options) => Build(path, options, randomWeights: true);

    private static CogVideoXPipeline Build(string path, ComputeOptions options, bool randomWeights)
    {
        var folder = CogVideoXPipelineFolder.Open(path);
        var tokenizer = PipelineComponents.Tokenizer(folder.TokenizerPath, folder.TextEncoderConfig);
        var scheduler = SchedulerLoader.Load(folder.SchedulerPath);
        using var parts = new PipelineComponents(options, randomWeights);
        var textEncoder = parts.T5TextEncoder(folder.TextEncoderConfig, folder.TextEncoder.Path);
        var transformer = parts.Add(o => new CogVideoXTransformer3DModel(folder.TransformerConfig, o.Device, o.DType), o => CogVideoXTransformer3DModel.Load(folder.Transformer, o));
        var vae = parts.Add(o => new CogVideoXVae(folder.VaeConfig, o.Device, o.DType), o => CogVideoXVae.Load(folder.Vae, o));
        var pipeline = new CogVideoXPipeline(folder, options, tokenizer, textEncoder, transformer, scheduler, vae);
        parts.Keep();
        return pipeline;
    }

    /// <summary>
    /// What the transformer receives for <paramref name="prompts"/>: tokenized (no cleaning) and padded to
    /// <paramref name="maxSequenceLength"/>, encoded without an attention mask (padding included, as diffusers does);
    /// [B, L, text_embed_dim] in the model dtype on the device.
    /// </summary>
    public Tensor EncodePrompts(IReadOnlyList<string> prompts, int maxSequenceLength)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        using var tokens = Tokenizer.Encode(prompts, maxSequenceLength);
        var ids = tokens.InputIds.to(Options.Device);
        var embeds = TextEncoder.Encode(ids, torch.ones_like(ids)).to(Options.DType);
        EncoderOutput.RequireFinite([embeds], Folder.TextEncoder.Path);
        return embeds.MoveToOuterDisposeScope();
    }

    /// <summary>The latent shape [B, F_latent, C, H/8, W/8] (frame-major) of a request.</summary>
    public long[] LatentShape(GenerationRequest request)
    {
        var s = Geometry.LatentShape(request.BatchSize, request.Frames, request.Height, request.Width);
        return new[] { s[0], s[2], s[1], s[3], s[4] };
    }

    /// <summary>diffusers' dynamic guidance scale at raw timestep <paramref name="timestep"/> of an <paramref name="steps"/>-step schedule.</summary>
    public static double DynamicGuidanceScale(double scale, double timestep, int steps) =>
        1 + scale * ((1 - Math.Cos(Math.PI * Math.Pow((steps - timestep) / steps, 5.0))) / 2);

    public Tensor Generate(GenerationRequest request)
    {
        using var latents = Denoise(request);
        return DecodeLatents(latents);
    }

    /// <summary>
    /// The starting latents [B, F, C, H, W] the request gives (its own, or the seed's noise as <see cref="Denoise"/>
    /// draws it), before the scheduler's init_noise_sigma, in the model dtype on the device.
    /// </summary>
    public Tensor InitialLatents(GenerationRequest request)
    {
        using var generator = new Generator((ulong)request.Seed);
        return StartingLatents.Create(LatentShape(request), request, Options.Device, Options.DType, generator);
    }

    /// <summary>The denoising loop only: the final latents [B, F, C, H, W] in the model dtype on the device.</summary>
    public Tensor Denoise(GenerationRequest request)
    {
        request.Validate();
        request.RejectTrueCfg(ClassName);
        request.RejectWan22Options(ClassName);
        var config = Transformer.Config;
        if (!config.use_rotary_positional_embeddings && request.PromptEmbeds is null && request.MaxSequenceLength != config.max_text_seq_length)
            throw new VDiTLensException(
                $"max_sequence_length = {request.MaxSequenceLength}: this transformer has sin-cos text positions (CogVideoX-2B style) and needs exactly {config.max_text_seq_length} tokens (transformer/config.json max_text_seq_length)");
        using var _ = torch.no_grad();
        int batch = request.BatchSize;
        bool guided = request.GuidanceScale > 1.0;
        var shape = LatentShape(request);
        // One CPU generator for the initial noise and, after it, a stochastic scheduler's draws (diffusers' generator=).
        using var generator = new Generator((ulong)request.Seed);
        var latents = StartingLatents.Create(shape, request, Options.Device, Options.DType, generator);
        var dpm = Scheduler as CogVideoXDPMScheduler;
        var schedulerNoise = dpm?.NoiseSource;
        (Tensor Cos, Tensor Sin)? rotary = null;
        try
        {
            if (Scheduler.InitNoiseSigma != 1.0) latents.mul_(Scheduler.InitNoiseSigma);
            if (dpm is not null) dpm.NoiseSource = new CpuGeneratorNoise(generator);
            using var cond = request.PromptEmbeds is { } givenCond
                ? Given(givenCond, batch, "PromptEmbeds")
                : new TextConditioning(EncodePrompts(request.Prompts, request.MaxSequenceLength), null);
            using var uncond = !guided ? null
                : request.NegativePromptEmbeds is { } givenUncond
                    ? Given(givenUncond, batch, "NegativePromptEmbeds")
                    : new TextConditioning(EncodePrompts(Enumerable.Repeat(request.NegativePrompt, batch).ToArray(), request.MaxSequenceLength), null);
            if (config.use_rotary_positional_embeddings)
                rotary = CogVideoXRotaryEmbedding.ForPipeline(config, request.Height, request.Width, (int)shape[1], Geometry.SpatialScale, Options.Device);
            Scheduler.SetTimesteps(request.Steps);
            int steps = Scheduler.NumInferenceSteps;
            double scale = request.GuidanceScale;
            // diffusers: noise_pred.float() before guidance, the step on the float32 prediction, then latents.to(model dtype).
            var loop = new GuidedDenoisingLoop(Scheduler, Seam, (x, t, text) => Transformer.Forward(x, text.Embeds, t, rotary), Folder.Transformer.Path)
            {
                Float32Predictions = true,
                LatentsDType = Options.DType,
                GuidanceScaleAt = request.UseDynamicCfg ? (_, timestep) => DynamicGuidanceScale(scale, timestep, steps) : null,
            };
            return loop.Run(latents, cond, uncond, request);
        }
        catch
        {
            latents.Dispose();
            throw;
        }
        finally
        {
            rotary?.Cos.Dispose();
            rotary?.Sin.Dispose();
            if (dpm is not null) dpm.NoiseSource = schedulerNoise!;
        }
    }

    private TextConditioning Given(Tensor embeds, int batch, string what) =>
        TextConditioning.FromGiven(embeds, null, batch, Transformer.Config.text_embed_dim, what, Options.DType, Options.Device);

    /// <summary>Latents [B, F, C, H, W] → video [B, F', H', W', 3] float32 in [0, 1] on the CPU: · 1/scaling_factor, [B, C, F, H, W], VAE decode.</summary>
    public Tensor DecodeLatents(Tensor latents)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var z = Vae.Unscale(latents.permute(0, 2, 1, 3, 4).to(Vae.DType));
        var pixels = Vae.Decode(z);
        return VideoPostprocessor.ToVideo(pixels, $"the VAE decode produced non-finite values; check the vae weights ({Folder.Vae.Path}), or run in float32")
            .MoveToOuterDisposeScope();
    }

    string ITextToVideoPipeline.FolderPath => Folder.Folder.Path;
    ModelFolder ITextToVideoPipeline.TransformerFolder => Folder.Transformer;
    TextConditioning ITextToVideoPipeline.EncodeText(IReadOnlyList<string> prompts, int maxSequenceLength) => new(EncodePrompts(prompts, maxSequenceLength), null);
    public DenoisingObjective Objective => DenoisingObjective.VPrediction(Scheduler switch
    {
        CogVideoXDDIMScheduler ddim => ddim.AlphasCumprod,
        CogVideoXDPMScheduler dpm => dpm.AlphasCumprod,
        _ => throw new VDiTLensException($"{Folder.SchedulerPath}: {Scheduler.ClassName} has no alphas_cumprod"),
    });

    /// <summary>The rotary tables are left to the transformer, which computes them as this pipeline does.</summary>
    public IReadOnlyDictionary<string, Tensor> TransformerInputs(Tensor latents, Tensor timestep, TextConditioning text, double guidanceScale) =>
        new Dictionary<string, Tensor> { ["hidden_states"] = latents, ["encoder_hidden_states"] = text.Embeds, ["timestep"] = timestep };

    public void Dispose()
    {
        Transformer.Dispose();
        TextEncoder.Dispose();
        Vae.Dispose();
    }

    /// <summary>diffusers' randn_tensor with a CPU generator: drawn on the CPU in the sample's dtype, then moved.</summary>
    private sealed class CpuGeneratorNoise(Generator generator) : INoiseSource
    {
        public Tensor Next(Tensor like)
        {
            using var noise = torch.randn(like.shape, like.dtype, torch.CPU, generator: generator);
            return noise.to(like.device).clone();
        }
    }
}
