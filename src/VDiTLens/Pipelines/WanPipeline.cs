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
/// Wan2.1 and Wan2.2 text-to-video (diffusers' <c>WanPipeline</c>): prompt cleaning → tokenizer → UMT5 encoder (rows
/// past each prompt's length zeroed) → classifier-free-guided denoising with <see cref="WanTransformer3DModel"/> and the
/// folder's scheduler → latent de-normalisation and Wan VAE decode → video [B, F, H, W, 3] in [0, 1]. Without a VAE the
/// transformer's latents are the video in [-1, 1] (pixel-space tiny models). Wan2.2 A14B: two experts switched on the
/// timestep (<see cref="Experts"/>; the expert of each call is <see cref="AttentionRunState.Expert"/>); Wan2.2 TI2V-5B:
/// per-token timesteps and, with <see cref="GenerationRequest.Image"/>, the first frame conditioned on an image.
/// A WanImageToVideoPipeline folder (Wan2.1 I2V, Wan2.2 I2V-A14B) conditions every generation on the image through
/// extra input channels (<see cref="WanImageCondition"/>).
/// Not thread-safe: one generation at a time.
/// </summary>
public sealed class WanPipeline : ITextToVideoPipeline
{
    public WanPipelineFolder Folder { get; }
    public ComputeOptions Options { get; }
    public IPromptTokenizer Tokenizer { get; }
    public ITextEncoder TextEncoder { get; }
    /// <summary>The (high-noise, with two experts) transformer.</summary>
    public WanTransformer3DModel Transformer => Experts.Transformer;
    /// <summary>The transformer and, for Wan2.2 A14B, the low-noise expert <c>transformer_2</c>, with their placement.</summary>
    public WanExperts Experts { get; }
    public IScheduler Scheduler { get; }
    /// <summary>Null for a pixel-space pipeline.</summary>
    public WanVae? Vae { get; }
    /// <summary>Wan2.1 I2V: the CLIP vision tower and its image processor; null for other layouts.</summary>
    public ClipVisionModel? ImageEncoder { get; }
    public ClipImageProcessor? ImageProcessor { get; }
    public VideoGeometry Geometry { get; }
    public string ClassName => Folder.ClassName;

    /// <summary>diffusers' WanPipeline defaults; the prompt length is the tokenizer's model_max_length when it has one.</summary>
    public GenerationDefaults Defaults => GenerationDefaults.Wan with { MaxSequenceLength = Tokenizer.ModelMaxLength ?? GenerationDefaults.Wan.MaxSequenceLength };

    /// <summary>The seam the transformer's attention goes through; its <see cref="AttentionSeam.State"/> follows the loop.</summary>
    public AttentionSeam Seam => Transformer.Seam;
    IVideoTransformer ITextToVideoPipeline.Transformer => Transformer;

    public IReadOnlyList<AttentionSite> Sites => Transformer.Sites;

    private WanPipeline(WanPipelineFolder folder, ComputeOptions options, IPromptTokenizer tokenizer, ITextEncoder textEncoder,
        WanExperts experts, IScheduler scheduler, WanVae? vae, ClipVisionModel? imageEncoder, ClipImageProcessor? imageProcessor)
    {
        Folder = folder;
        ImageEncoder = imageEncoder;
        ImageProcessor = imageProcessor;
        Options = options;
        Tokenizer = tokenizer;
        TextEncoder = textEncoder;
        Experts = experts;
        Scheduler = scheduler;
        Vae = vae;
        var t = folder.TransformerConfig;
        // the latents have the transformer's output channels (image-to-video inputs carry the condition besides)
        Geometry = vae is null
            ? new VideoGeometry(t.out_channels, 1, 1, t.patch_size, false)
            : new VideoGeometry(t.out_channels, vae.Config.TemporalScale, vae.Config.SpatialScale, t.patch_size, true);
    }

    /// <summary>
    /// Loads a diffusers pipeline folder; every component is checked (class, sizes) before weights are read.
    /// <paramref name="placement"/>: where the two experts of a Wan2.2 A14B folder live (see <see cref="ExpertPlacementPolicy"/>).
    /// </summary>
    public static WanPipeline Load(string path, ComputeOptions options, ExpertPlacement placement = ExpertPlacement.Auto) =>
        Build(path, options, randomWeights: false, placement);

    /// <summary>
    /// Builds every component from the folder's configs with freshly initialised (random) weights on the device, in the
    /// options' dtype: no weight file is read, the folder may hold configs and the tokenizer only (benchmarks; see
    /// <see cref="PipelinePreset"/>). Seeded with the options' seed.
    /// </summary>
    public static WanPipeline CreateRandom(string path, ComputeOptions options, ExpertPlacement placement = ExpertPlacement.Auto) =>
        Build(path, options, randomWeights: true, placement);

    private static WanPipeline Build(string path, ComputeOptions options, bool randomWeights, ExpertPlacement placement)
    {
        var folder = WanPipelineFolder.Open(path);
        var tokenizer = PipelineComponents.Tokenizer(folder.TokenizerPath, folder.TextEncoderConfig);
        var scheduler = SchedulerLoader.Load(folder.SchedulerPath);
        using var parts = new PipelineComponents(options, randomWeights);
        var textEncoder = parts.T5TextEncoder(folder.TextEncoderConfig, folder.TextEncoder.Path);
        var vae = folder.VaeConfig is not { } vaeConfig ? null
            : parts.Add(o => new WanVae(vaeConfig, o.Device, o.DType), o => WanVae.Load(ModelFolder.Open(folder.VaePath!), o));
        var transformer = parts.Add(o => new WanTransformer3DModel(folder.TransformerConfig, o.Device, o.DType),
            o => WanTransformer3DModel.Load(folder.Transformer, o));
        WanTransformer3DModel? transformer2 = null;
        bool activeOnly = false;
        if (folder.Transformer2 is { } second)
        {
            activeOnly = ActiveOnly(placement, options, transformer, textEncoder, vae);
            // the waiting expert is built where it waits
            var device = activeOnly ? torch.CPU : options.Device;
            transformer2 = parts.Add(
                o => new WanTransformer3DModel(folder.Transformer2Config!, device, o.DType, transformer.Seam, transformer.Hooks),
                o => WanTransformer3DModel.Load(second, o with { Device = device }, transformer.Seam, transformer.Hooks));
        }
        var experts = new WanExperts(transformer, transformer2, options.Device, activeOnly);
        var imageEncoder = folder.ImageEncoderConfig is not { } clip ? null
            : parts.Add(o => new ClipVisionModel(clip, o.Device, o.DType), o => ClipVisionModel.Load(folder.ImageEncoder!, o));
        var imageProcessor = folder.ImageProcessorPath is { } processorPath ? ClipImageProcessor.Read(processorPath) : null;
        var pipeline = new WanPipeline(folder, options, tokenizer, textEncoder, experts, scheduler, vae, imageEncoder, imageProcessor);
        parts.Keep();
        return pipeline;
    }

    private static bool ActiveOnly(ExpertPlacement placement, ComputeOptions options, WanTransformer3DModel transformer, ITextEncoder textEncoder, WanVae? vae)
    {
        if (placement != ExpertPlacement.Auto) return placement == ExpertPlacement.ActiveOnly;
        if (options.Device.type != DeviceType.CUDA) return false;
        double? total = GpuMemory.TotalGiB(Math.Max(0, (int)options.Device.index));
        if (total is not { } gib) return true;   // unknown capacity: the placement that fits
        long other = (textEncoder is nn.Module t ? WanExperts.Bytes(t) : 0) + (vae is null ? 0 : WanExperts.Bytes(vae));
        return !ExpertPlacementPolicy.BothFit(WanExperts.Bytes(transformer), other, (long)(gib * (1L << 30)));
    }

    /// <summary>The token texts of the cleaned prompts (the text keys of cross-attention).</summary>
    public string[][] TextTokens(IReadOnlyList<string> prompts, int maxSequenceLength)
    {
        using var tokens = Tokenizer.Encode(prompts.Select(PromptCleaner.Clean).ToArray(), maxSequenceLength);
        return tokens.TokenTexts(Tokenizer);
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
        EncoderOutput.RequireFinite([embeds], Folder.TextEncoder.Path);
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
        if (request.GuidanceScale2 is not null && Experts.Transformer2 is null)
            throw new VDiTLensException($"GuidanceScale2 (guidance_scale_2) needs a two-expert pipeline; {Folder.IndexFile} has no transformer_2 and boundary_ratio");
        using var _ = torch.no_grad();
        int batch = request.BatchSize;
        bool guided = request.GuidanceScale > 1.0;
        var latents = InitialLatents(request);
        try
        {
            using var call = LoopCall(request);
            using var cond = request.PromptEmbeds is { } givenCond
                ? Given(givenCond, batch, "PromptEmbeds")
                : new TextConditioning(EncodePrompts(request.Prompts, request.MaxSequenceLength), null);
            using var uncond = !guided ? null
                : request.NegativePromptEmbeds is { } givenUncond
                    ? Given(givenUncond, batch, "NegativePromptEmbeds")
                    : new TextConditioning(EncodePrompts(Enumerable.Repeat(request.NegativePrompt, batch).ToArray(), request.MaxSequenceLength), null);
            Scheduler.SetTimesteps(request.Steps);
            var loop = new GuidedDenoisingLoop(Scheduler, Seam, call.Forward, Folder.Transformer.Path)
            {
                ExpertAt = Experts.Transformer2 is null ? null : (_, t) => ExpertAt(t),
                GuidanceScaleAt = Experts.Transformer2 is null ? null : (_, t) => GuidanceScaleAt(request, t),
            };
            return call.Finish(loop.Run(latents, cond, uncond, request));
        }
        catch
        {
            latents.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The transformer call of <paramref name="request"/>'s loop (<see cref="WanLoopCall"/>), with the image condition
    /// the folder asks for encoded once; checks that an image-to-video folder has an image and a text-to-video one none.
    /// </summary>
    public WanLoopCall LoopCall(GenerationRequest request)
    {
        if (request.Image is not null && !Folder.ExpandTimesteps && !Folder.IsImageToVideo)
            throw new VDiTLensException($"Image (first-frame conditioning) needs an image-to-video pipeline ({WanPipelineFolder.ImageToVideoClass}, or Wan2.2 TI2V's expand_timesteps); {Folder.IndexFile} is a text-to-video {ClassName} without expand_timesteps");
        if (request.Image is null && Folder.IsImageToVideo)
            throw new VDiTLensException($"Image is required (the command line's --image FILE): {Folder.IndexFile} is a {WanPipelineFolder.ImageToVideoClass}, which conditions every video on its first frame");
        using var _ = torch.no_grad();
        int batch = request.BatchSize;
        Tensor? mask = null, condition = null, imageEmbeds = null;
        try
        {
            if (Folder.ExpandTimesteps)
            {
                mask = WanTokenTimesteps.FirstFrameMask(Geometry.LatentShape(batch, request.Frames, request.Height, request.Width), request.Image is not null, Options.Device);
                if (request.Image is { } image) condition = ImageCondition(image, request, batch);
            }
            else if (Folder.ConcatImageCondition)
            {
                condition = ImageConditionChannels(request);
                if (ImageEncoder is not null) imageEmbeds = EncodeImage(request.Image!);
            }
            return new WanLoopCall(this, mask, condition, imageEmbeds);
        }
        catch
        {
            mask?.Dispose();
            condition?.Dispose();
            imageEmbeds?.Dispose();
            throw;
        }
    }

    /// <summary>The guidance scale of the step at raw timestep t: <see cref="GenerationRequest.GuidanceScale2"/> (or the scale) for the low-noise expert of Wan2.2 A14B.</summary>
    public double GuidanceScaleAt(GenerationRequest request, double timestep) =>
        ExpertAt(timestep) == WanExperts.Second ? request.GuidanceScale2 ?? request.GuidanceScale : request.GuidanceScale;

    /// <summary>
    /// The expert for raw timestep t: <c>transformer</c> when t ≥ boundary_ratio · num_train_timesteps, else
    /// <c>transformer_2</c>. Compared in float32, as torch compares the scheduler's timestep tensor with diffusers' float
    /// boundary.
    /// </summary>
    public string ExpertAt(double timestep)
    {
        if (Experts.Transformer2 is null || Folder.BoundaryRatio is not { } ratio) return AttentionRunState.MainExpert;
        return (float)timestep >= (float)(ratio * Folder.NumTrainTimesteps) ? AttentionRunState.MainExpert : WanExperts.Second;
    }

    /// <summary>
    /// WanImageToVideoPipeline's condition with expand_timesteps: the image (video processor: [0, 1] → [−1, 1]) as a
    /// one-frame video through the VAE encoder, the latent distribution's mode, normalised, one row per video.
    /// </summary>
    private Tensor ImageCondition(Tensor image, GenerationRequest request, int batch)
    {
        using var scope = torch.NewDisposeScope();
        return EncodeImageLatents(Pixels(image, request, batch).unsqueeze(2), batch).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The condition channels a WanImageToVideoPipeline folder (without expand_timesteps) gives the transformer beside
    /// the latents at every step: [B, T + z_dim, F', H', W'] float32 = cat(first-frame mask, normalised VAE mode of the
    /// request's image followed by frames − 1 black frames), see <see cref="WanImageCondition"/>.
    /// </summary>
    public Tensor ImageConditionChannels(GenerationRequest request)
    {
        if (!Folder.ConcatImageCondition)
            throw new VDiTLensException($"{Folder.IndexFile}: a {ClassName}{(Folder.ExpandTimesteps ? " with expand_timesteps" : "")} takes no image condition channels");
        if (request.Image is not { } image)
            throw new VDiTLensException($"Image is required (the command line's --image FILE): {Folder.IndexFile} is a {WanPipelineFolder.ImageToVideoClass}, which conditions every video on its first frame");
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        int batch = request.BatchSize;
        var shape = Geometry.LatentShape(batch, request.Frames, request.Height, request.Width);
        var latents = EncodeImageLatents(WanImageCondition.ConditionVideo(Pixels(image, request, batch), request.Frames), batch);
        var mask = WanImageCondition.FirstFrameMask(batch, Vae!.Config.TemporalScale, request.Frames, shape[3], shape[4], Options.Device);
        return torch.cat(new[] { mask, latents }, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Wan2.1 I2V's image embeddings (WanImageToVideoPipeline.encode_image): the image through the CLIP image processor
    /// (rounded to 8-bit levels, resized, cropped, normalised) and the vision tower, whose penultimate hidden state
    /// [1 or B, tokens, image_dim] (257 tokens for ViT-H/14) is returned in the transformer dtype on the device.
    /// </summary>
    public Tensor EncodeImage(Tensor image)
    {
        if (ImageEncoder is not { } encoder || ImageProcessor is not { } processor)
            throw new VDiTLensException($"{Folder.IndexFile}: this {ClassName} has no image_encoder / image_processor (only Wan2.1 I2V transformers take image embeddings)");
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var pixels = processor.Preprocess(image).to(Options.DType).to(Options.Device);
        return encoder.PenultimateHiddenState(pixels).to(Options.DType).MoveToOuterDisposeScope();
    }

    /// <summary>The request's image as float32 pixels in [−1, 1] on the device (diffusers' video processor maps [0, 1] to [−1, 1]).</summary>
    private Tensor Pixels(Tensor image, GenerationRequest request, int batch)
    {
        if (Vae is null)
            throw new VDiTLensException($"Image conditioning needs the vae component ({Folder.IndexFile})");
        if (image.dim() != 4 || image.shape[1] != 3 || image.shape[2] != request.Height || image.shape[3] != request.Width
            || (image.shape[0] != 1 && image.shape[0] != batch))
            throw new VDiTLensException(
                $"Image must be [1 or {batch}, 3, {request.Height}, {request.Width}] (RGB at the requested height and width), got [{string.Join(", ", image.shape)}]");
        using var scope = torch.NewDisposeScope();
        var pixels = image.to(ScalarType.Float32).to(Options.Device);
        if (pixels.min().item<float>() >= 0) pixels = pixels * 2 - 1;
        return pixels.MoveToOuterDisposeScope();
    }

    /// <summary>A video [1 or B, 3, F, H, W] in [−1, 1] → the normalised mode of its VAE latents, float32, one row per video.</summary>
    private Tensor EncodeImageLatents(Tensor video, int batch)
    {
        using var scope = torch.NewDisposeScope();
        var vae = Vae!;
        var moments = vae.EncodeMoments(video.to(vae.DType));
        var mode = LatentDistribution.FromMoments(moments).Mode.to(ScalarType.Float32);
        if (mode.shape[0] != batch) mode = mode.repeat(batch, 1, 1, 1, 1);
        return vae.Normalize(mode).MoveToOuterDisposeScope();
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
        Experts.Dispose();
        TextEncoder.Dispose();
        Vae?.Dispose();
        ImageEncoder?.Dispose();
    }
}
