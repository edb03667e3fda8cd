using VDiTLens.Models.Common;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Mochi;
using VDiTLens.Models.Mochi.Vae;
using VDiTLens.Runtime;
using VDiTLens.Schedulers;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// Mochi-1 text-to-video (diffusers' <c>MochiPipeline</c>): tokenizer → T5 encoder with the attention mask (padding
/// rows kept, the mask goes to the transformer) → classifier-free-guided denoising with
/// <see cref="MochiTransformer3DModel"/> and <see cref="FlowMatchEulerDiscreteScheduler"/> on the linear-quadratic sigma
/// schedule → latent de-normalisation and Mochi VAE decode → video [B, F, H, W, 3] in [0, 1]. The timestep and sign
/// conventions of Mochi live in the scheduler config (<c>invert_sigmas</c>: the model sees 1000·(1 − σ)).
/// Not thread-safe: one generation at a time.
/// </summary>
public sealed class MochiPipeline : ITextToVideoPipeline
{
    /// <summary>MochiPipeline's <c>threshold_noise</c> of linear_quadratic_schedule.</summary>
    public const double ThresholdNoise = 0.025;

    /// <summary>MochiPipeline's fixed <c>vae_temporal_scale_factor</c> and <c>vae_spatial_scale_factor</c> (not read from the VAE config).</summary>
    public const int VaeTemporalScale = 6, VaeSpatialScale = 8;

    public MochiPipelineFolder Folder { get; }
    public ComputeOptions Options { get; }
    public IPromptTokenizer Tokenizer { get; }
    public ITextEncoder TextEncoder { get; }
    public MochiTransformer3DModel Transformer { get; }
    public ICustomSigmasScheduler Scheduler { get; }
    public MochiVae Vae { get; }
    public VideoGeometry Geometry { get; }
    public string ClassName => MochiPipelineFolder.PipelineClass;
    public GenerationDefaults Defaults => GenerationDefaults.Mochi;

    /// <summary>The seam the transformer's attention goes through; its <see cref="AttentionSeam.State"/> follows the loop.</summary>
    public AttentionSeam Seam => Transformer.Seam;
    IVideoTransformer ITextToVideoPipeline.Transformer => Transformer;

    public IReadOnlyList<AttentionSite> Sites => Transformer.Sites;

    private MochiPipeline(MochiPipelineFolder folder, ComputeOptions options, IPromptTokenizer tokenizer, ITextEncoder textEncoder,
        MochiTransformer3DModel transformer, ICustomSigmasScheduler scheduler, MochiVae vae)
    {
        Folder = folder;
        Options = options;
        Tokenizer = tokenizer;
        TextEncoder = textEncoder;
        Transformer = transformer;
        Scheduler = scheduler;
        Vae = vae;
        int p = folder.TransformerConfig.patch_size;
        Geometry = new VideoGeometry(folder.TransformerConfig.in_channels, VaeTemporalScale, VaeSpatialScale, new[] { 1, p, p }, true) { FramesRoundDown = true };
    }

    /// <summary>Loads a diffusers MochiPipeline folder; every component is checked (class, sizes) before weights are read.</summary>
    public static MochiPipeline Load(string path, ComputeOptions options) => Build(path, options, randomWeights: false);

    /// <summary>
    /// Builds every component from the folder's configs with freshly initialised (random) weights in the options' dtype:
    /// no weight file is read, the folder may hold configs and the tokenizer only. Seeded with the options' seed.
    /// </summary>
    public static MochiPipeline CreateRandom(string path, ComputeOptions options) => Build(path, options, randomWeights: true);

    private static MochiPipeline Build(string path, ComputeOptions options, bool randomWeights)
    {
        var folder = MochiPipelineFolder.Open(path);
        var tokenizer = PipelineComponents.Tokenizer(folder.TokenizerPath, folder.TextEncoderConfig);
        var scheduler = (ICustomSigmasScheduler)SchedulerLoader.Load(folder.SchedulerPath);
        using var parts = new PipelineComponents(options, randomWeights);
        var textEncoder = parts.T5TextEncoder(folder.TextEncoderConfig, folder.TextEncoder.Path);
        var transformer = parts.Add(o => new MochiTransformer3DModel(folder.TransformerConfig, o.Device, o.DType), o => MochiTransformer3DModel.Load(folder.Transformer, o));
        var vae = parts.Add(o => new MochiVae(folder.VaeConfig, o.Device, o.DType), o => MochiVae.Load(folder.Vae, o));
        vae.Tiling = VaeSpatialTiling.Default; // diffusers' Mochi example calls pipe.enable_vae_tiling()
        var pipeline = new MochiPipeline(folder, options, tokenizer, textEncoder, transformer, scheduler, vae);
        parts.Keep();
        return pipeline;
    }

    /// <summary>
    /// What the transformer receives for <paramref name="prompts"/>: tokenized to <paramref name="maxSequenceLength"/>
    /// (no prompt cleaning in Mochi), encoded with the mask; embeddings [B, L, d_model] in the pipeline dtype, padding rows
    /// as the encoder left them, and the mask [B, L] (bool), both on the device. With model_index.json's
    /// force_zeros_for_empty_prompt and an empty last prompt, ids and mask are all zeros (diffusers' rule, for the whole batch).
    /// </summary>
    public TextConditioning EncodePrompts(IReadOnlyList<string> prompts, int maxSequenceLength)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        using var tokens = Tokenizer.Encode(prompts, maxSequenceLength);
        var ids = tokens.InputIds;
        var mask = tokens.AttentionMask;
        if (Folder.ForceZerosForEmptyPrompt && prompts.Count > 0 && prompts[^1] == "")
        {
            ids = torch.zeros_like(ids);
            mask = torch.zeros_like(mask);
        }
        var embeds = TextEncoder.Encode(ids.to(Options.Device), mask.to(Options.Device)).to(Options.DType);
        EncoderOutput.RequireFinite([embeds], Folder.TextEncoder.Path);
        return new TextConditioning(embeds.MoveToOuterDisposeScope(), mask.to(Options.Device).ne(0).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The starting latents [B, in_channels, (F − 1) / 6 + 1, H / 8, W / 8]: the request's own, or seeded Gaussian noise
    /// drawn in float32, then in the model dtype on the device (diffusers' prepare_latents).
    /// </summary>
    public Tensor InitialLatents(GenerationRequest request)
    {
        var latents = StartingLatents.Create(Geometry.LatentShape(request.BatchSize, request.Frames, request.Height, request.Width), request, Options.Device);
        if (latents.dtype == Options.DType) return latents;
        using (latents) return latents.to(Options.DType);
    }

    /// <summary>The sigmas MochiPipeline passes to the scheduler for <paramref name="steps"/> steps (before its invert_sigmas).</summary>
    public static double[] Sigmas(int steps)
    {
        if (steps < 2)
            throw new VDiTLensException($"steps = {steps}: Mochi's linear-quadratic sigma schedule needs at least 2 steps (diffusers divides by steps // 2)");
        return FlowMatchSigmaSchedules.LinearQuadratic(steps, ThresholdNoise);
    }

    public Tensor Generate(GenerationRequest request)
    {
        using var latents = Denoise(request);
        return DecodeLatents(latents);
    }

    /// <summary>The denoising loop only: the final latents (float32, on the device), before de-normalisation and decoding.</summary>
    public Tensor Denoise(GenerationRequest request)
    {
        request.Validate();
        request.RejectDynamicCfg(ClassName);
        request.RejectTrueCfg(ClassName);
        request.RejectWan22Options(ClassName);
        var sigmas = Sigmas(request.Steps);
        using var _ = torch.no_grad();
        int batch = request.BatchSize;
        bool guided = request.GuidanceScale > 1.0;
        var latents = InitialLatents(request);
        try
        {
            using var cond = request.PromptEmbeds is { } givenCond
                ? Given(givenCond, request.PromptAttentionMask, batch, "PromptEmbeds", "PromptAttentionMask")
                : EncodePrompts(request.Prompts, request.MaxSequenceLength);
            using var uncond = !guided ? null
                : request.NegativePromptEmbeds is { } givenUncond
                    ? Given(givenUncond, request.NegativePromptAttentionMask, batch, "NegativePromptEmbeds", "NegativePromptAttentionMask")
                    : EncodePrompts(Enumerable.Repeat(request.NegativePrompt, batch).ToArray(), request.MaxSequenceLength);
            Scheduler.SetTimesteps(sigmas);
            var loop = new GuidedDenoisingLoop(Scheduler, Seam, (x, t, text) => Transformer.Forward(x, text.Embeds, t, text.Mask!), Folder.Transformer.Path)
            {
                Float32Predictions = true,
                LatentsDType = Options.DType, // the step runs in float32 (type promotion), its result goes back to the model dtype
            };
            return loop.Run(latents, cond, uncond, request);
        }
        catch
        {
            latents.Dispose();
            throw;
        }
    }

    private TextConditioning Given(Tensor embeds, Tensor? mask, int batch, string what, string maskField)
    {
        if (mask is null)
            throw new VDiTLensException($"{what} is given without {maskField}; the Mochi transformer needs the token mask [B, L] with the embeddings (as diffusers' MochiPipeline requires)");
        return TextConditioning.FromGiven(embeds, mask, batch, Folder.TransformerConfig.text_embed_dim, what, Options.DType, Options.Device);
    }

    /// <summary>Latents [B, C, F, H, W] → de-normalised (latents · std / scaling_factor + mean) → VAE decode → video [B, F', H', W', 3] float32 in [0, 1] on the CPU.</summary>
    public Tensor DecodeLatents(Tensor latents)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var pixels = Vae.Decode(Vae.Denormalize(latents.to(Vae.DType)));
        return VideoPostprocessor.ToVideo(pixels, $"the VAE decode produced non-finite values; check the vae weights ({Folder.Vae.Path}), or run in float32")
            .MoveToOuterDisposeScope();
    }

    string ITextToVideoPipeline.FolderPath => Folder.Folder.Path;
    ModelFolder ITextToVideoPipeline.TransformerFolder => Folder.Transformer;
    TextConditioning ITextToVideoPipeline.EncodeText(IReadOnlyList<string> prompts, int maxSequenceLength) => EncodePrompts(prompts, maxSequenceLength);
    public DenoisingObjective Objective => DenoisingObjective.FlowMatching(Scheduler);

    public IReadOnlyDictionary<string, Tensor> TransformerInputs(Tensor latents, Tensor timestep, TextConditioning text, double guidanceScale) =>
        new Dictionary<string, Tensor>
        {
            ["hidden_states"] = latents, ["encoder_hidden_states"] = text.Embeds, ["timestep"] = timestep, ["encoder_attention_mask"] = text.Mask!,
        };

    public void Dispose()
    {
        Transformer.Dispose();
        TextEncoder.Dispose();
        Vae.Dispose();
    }
}
