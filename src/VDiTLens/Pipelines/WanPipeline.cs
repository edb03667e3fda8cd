using VDiTLens.Training;
using VDiTLens.Models.Common;
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
public sealed class WanPipeline : ITextToVideoPipeline
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
    public string ClassName => WanPipelineFolder.PipelineClass;

    /// <summary>diffusers' WanPipeline defaults; the prompt length is the tokenizer's model_max_length when it has one.</summary>
    public GenerationDefaults Defaults => GenerationDefaults.Wan with { MaxSequenceLength = Tokenizer.ModelMaxLength ?? GenerationDefaults.Wan.MaxSequenceLength };

    /// <summary>The seam the transformer's attention goes through; its <see cref="AttentionSeam.State"/> follows the loop.</summary>
    public AttentionSeam Seam => Transformer.Seam;
    IVideoTransformer ITextToVideoPipeline.Transformer => Transformer;

    public IReadOnlyList<AttentionSite> Sites => Transformer.Sites;

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
        var tokenizer = PipelineComponents.Tokenizer(folder.TokenizerPath, folder.TextEncoderConfig);
        var scheduler = SchedulerLoader.Load(folder.SchedulerPath);
        using var parts = new PipelineComponents(options, randomWeights);
        var textEncoder = parts.T5TextEncoder(folder.TextEncoderConfig, folder.TextEncoder.Path);
        var transformer = parts.Add(o => new WanTransformer3DModel(folder.TransformerConfig, o.Device, o.DType), o => WanTransformer3DModel.Load(folder.Transformer, o));
        var vae = folder.VaeConfig is not { } vaeConfig ? null
            : parts.Add(o => new WanVae(vaeConfig, o.Device, o.DType), o => WanVae.Load(ModelFolder.Open(folder.VaePath!), o));
        var pipeline = new WanPipeline(folder, options, tokenizer, textEncoder, transformer, scheduler, vae);
        parts.Keep();
        return pipeline;
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
    public Tensor InitialLatents(GenerationRequest request) =>
        StartingLatents.Create(Geometry.LatentShape(request.BatchSize, request.Frames, request.Height, request.Width), request, Options.Device);

    /// <summary>Runs the whole generation; returns the video [B, F, H, W, 3] float32 in [0, 1] on the CPU.</summary>
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
        using var _ = torch.no_grad();
        int batch = request.BatchSize;
        bool guided = request.GuidanceScale > 1.0;
        var latents = InitialLatents(request);
        try
        {
            using var cond = request.PromptEmbeds is { } givenCond
                ? Given(givenCond, batch, "PromptEmbeds")
                : new TextConditioning(EncodePrompts(request.Prompts, request.MaxSequenceLength), null);
            using var uncond = !guided ? null
                : request.NegativePromptEmbeds is { } givenUncond
                    ? Given(givenUncond, batch, "NegativePromptEmbeds")
                    : new TextConditioning(EncodePrompts(Enumerable.Repeat(request.NegativePrompt, batch).ToArray(), request.MaxSequenceLength), null);
            Scheduler.SetTimesteps(request.Steps);
            var loop = new GuidedDenoisingLoop(Scheduler, Seam, (x, t, text) => Transformer.Forward(x, t, text.Embeds), Folder.Transformer.Path);
            return loop.Run(latents, cond, uncond, request);
        }
        catch
        {
            latents.Dispose();
            throw;
        }
    }

    private TextConditioning Given(Tensor embeds, int batch, string what) =>
        TextConditioning.FromGiven(embeds, null, batch, Folder.TransformerConfig.text_dim, what, Options.DType, Options.Device);

    /// <summary>Latents [B, C, F, H, W] → video [B, F', H', W', 3] float32 in [0, 1] on the CPU (VAE decode, or the latents themselves without a VAE).</summary>
    public Tensor DecodeLatents(Tensor latents)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var pixels = Vae is { } vae ? vae.Decode(vae.Denormalize(latents.to(vae.DType))) : latents.clamp(-1.0, 1.0);
        return VideoPostprocessor.ToVideo(pixels,
            Vae is null ? "the final latents are not finite" : "the VAE decode produced non-finite values; check the vae weights, or run in float32")
            .MoveToOuterDisposeScope();
    }

    string ITextToVideoPipeline.FolderPath => Folder.Folder.Path;
    ModelFolder ITextToVideoPipeline.TransformerFolder => Folder.Transformer;
    TextConditioning ITextToVideoPipeline.EncodeText(IReadOnlyList<string> prompts, int maxSequenceLength) => new(EncodePrompts(prompts, maxSequenceLength), null);
    public DenoisingObjective Objective => DenoisingObjective.FlowMatching(Scheduler);

    public IReadOnlyDictionary<string, Tensor> TransformerInputs(Tensor latents, Tensor timestep, TextConditioning text, double guidanceScale) =>
        new Dictionary<string, Tensor> { ["hidden_states"] = latents, ["timestep"] = timestep, ["encoder_hidden_states"] = text.Embeds };

    public void Dispose()
    {
        Transformer.Dispose();
        TextEncoder.Dispose();
        Vae?.Dispose();
    }
}
