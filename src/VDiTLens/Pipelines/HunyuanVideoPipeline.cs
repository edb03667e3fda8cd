using VDiTLens.IO;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using VDiTLens.Models.HunyuanVideo;
using VDiTLens.Models.HunyuanVideo.Vae;
using VDiTLens.Models.Llama;
using VDiTLens.Runtime;
using VDiTLens.Schedulers;
using VDiTLens.Text;
using VDiTLens.Text.Bpe;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// HunyuanVideo text-to-video (diffusers' <c>HunyuanVideoPipeline</c>): prompt in the Llama 3 prompt template →
/// Llama hidden state two layers before the last, cropped at <c>crop_start</c>, with its mask; CLIP pooled output of
/// the plain prompt → flow-matching Euler denoising on sigmas linspace(1, 0) with the scheduler's shift and the
/// embedded (distilled) guidance <c>guidance_scale</c>·1000, optional true classifier-free guidance → VAE decode of
/// latents / scaling_factor → video [B, F, H, W, 3] in [0, 1]. Not thread-safe: one generation at a time.
/// </summary>
public sealed class HunyuanVideoPipeline : ITextToVideoPipeline
{
    /// <summary>_get_llama_prompt_embeds' <c>num_hidden_layers_to_skip</c>: the embeddings are <c>hidden_states[-3]</c>.</summary>
    public const int HiddenStateSkipLayer = 2;

    /// <summary>_get_clip_prompt_embeds' <c>max_sequence_length</c>.</summary>
    public const int ClipMaxLength = 77;

    public HunyuanVideoPipelineFolder Folder { get; }
    public ComputeOptions Options { get; }
    public ByteLevelBpeTokenizer LlamaTokenizer { get; }
    public ByteLevelBpeTokenizer ClipTokenizer { get; }
    public LlamaModel TextEncoder { get; }
    public ClipTextModel TextEncoder2 { get; }
    public HunyuanVideoTransformer3DModel Transformer { get; }
    public ICustomSigmasScheduler Scheduler { get; }
    public HunyuanVideoVae Vae { get; }
    public VideoGeometry Geometry { get; }
    public HunyuanVideoPromptTemplate PromptTemplate { get; set; } = HunyuanVideoPromptTemplate.Default;
    public string ClassName => HunyuanVideoPipelineFolder.PipelineClass;
    public GenerationDefaults Defaults => GenerationDefaults.HunyuanVideo;
    public AttentionSeam Seam => Transformer.Seam;
    public IReadOnlyList<AttentionSite> Sites => Transformer.Sites;
    public IPromptTokenizer Tokenizer => LlamaTokenizer;
    IVideoTransformer ITextToVideoPipeline.Transformer => Transformer;

    private HunyuanVideoPipeline(HunyuanVideoPipelineFolder folder, ComputeOptions options, ByteLevelBpeTokenizer llamaTokenizer,
        ByteLevelBpeTokenizer clipTokenizer, LlamaModel textEncoder, ClipTextModel textEncoder2, HunyuanVideoTransformer3DModel transformer,
        ICustomSigmasScheduler scheduler, HunyuanVideoVae vae)
    {
        Folder = folder;
        Options = options;
        LlamaTokenizer = llamaTokenizer;
        ClipTokenizer = clipTokenizer;
        TextEncoder = textEncoder;
        TextEncoder2 = textEncoder2;
        Transformer = transformer;
        Scheduler = scheduler;
        Vae = vae;
        var t = folder.TransformerConfig;
        // diffusers asks height and width to be multiples of 16 and rounds frames down to 1 + 4k.
        Geometry = new VideoGeometry(t.in_channels, folder.VaeConfig.temporal_compression_ratio, folder.VaeConfig.spatial_compression_ratio,
            new[] { t.patch_size_t, t.patch_size, t.patch_size }, true) { FramesRoundDown = true };
    }

    /// <summary>Loads a diffusers HunyuanVideoPipeline folder; every component is checked (class, sizes) before weights are read.</summary>
    public static HunyuanVideoPipeline Load(string path, ComputeOptions options) => Build(path, options, randomWeights: false);

    /// <summary>Every component from the folder's configs with random weights (seeded with the options' seed); tokenizers are read.</summary>
    public static HunyuanVideoPipeline CreateRandom(string path, ComputeOptions options) => Build(path, options, randomWeights: true);

    private static HunyuanVideoPipeline Build(string path, ComputeOptions options, bool randomWeights)
    {
        var folder = HunyuanVideoPipelineFolder.Open(path);
        var llamaTokenizer = BpeTokenizerJson.FromFolder(folder.TokenizerPath);
        CheckVocabulary(llamaTokenizer, folder.TextEncoderConfig.vocab_size, "text_encoder");
        var clipTokenizer = Text.Bpe.ClipTokenizer.FromFolder(folder.Tokenizer2Path);
        CheckVocabulary(clipTokenizer, folder.TextEncoder2Config.vocab_size, "text_encoder_2");
        var scheduler = (ICustomSigmasScheduler)SchedulerLoader.Load(folder.SchedulerPath);
        using var parts = new PipelineComponents(options, randomWeights);
        var textEncoder = parts.Add(o => new LlamaModel(folder.TextEncoderConfig, o.Device, o.DType), o => LlamaModel.Load(folder.TextEncoder, o));
        var textEncoder2 = parts.Add(o => new ClipTextModel(folder.TextEncoder2Config, o.Device, o.DType), o => ClipTextModel.Load(folder.TextEncoder2, o));
        var transformer = parts.Add(o => new HunyuanVideoTransformer3DModel(folder.TransformerConfig, o.Device, o.DType),
            o => HunyuanVideoTransformer3DModel.Load(folder.Transformer, o));
        var vae = parts.Add(o => new HunyuanVideoVae(folder.VaeConfig, o.Device, o.DType), o => HunyuanVideoVae.Load(folder.Vae, o));
        vae.Tiling = VaeSpatialTiling.Default; // diffusers' HunyuanVideo example calls pipe.vae.enable_tiling()
        var pipeline = new HunyuanVideoPipeline(folder, options, llamaTokenizer, clipTokenizer, textEncoder, textEncoder2, transformer, scheduler, vae);
        parts.Keep();
        return pipeline;
    }

    private static void CheckVocabulary(IPromptTokenizer tokenizer, int vocabSize, string encoder)
    {
        if (tokenizer.VocabularySize > vocabSize)
            throw new VDiTLensException(
                $"component sizes do not match: the tokenizer ({tokenizer.Source}) has {tokenizer.VocabularySize} ids but {encoder}/config.json vocab_size = {vocabSize}");
    }

    /// <summary>The Llama token texts of the templated prompts with the first crop_start (template) tokens dropped, as the text keys are.</summary>
    public string[][] TextTokens(IReadOnlyList<string> prompts, int maxSequenceLength)
    {
        int crop = PromptTemplate.CropStart;
        using var tokens = LlamaTokenizer.Encode(prompts.Select(PromptTemplate.Format).ToArray(), maxSequenceLength + crop);
        return tokens.TokenTexts(LlamaTokenizer).Select(row => row[crop..]).ToArray();
    }

    /// <summary>
    /// What the transformer receives for <paramref name="prompts"/> (diffusers' encode_prompt): embeddings
    /// [B, <paramref name="maxSequenceLength"/>, text_embed_dim] and mask [B, L] (bool) from the Llama encoder over the
    /// templated prompts (tokenized to max_sequence_length + crop_start, hidden_states[-3], first crop_start tokens
    /// dropped), and CLIP's pooled output [B, pooled_projection_dim] of the plain prompts (77 tokens, no mask); in
    /// the pipeline dtype on the device.
    /// </summary>
    public TextConditioning EncodePrompts(IReadOnlyList<string> prompts, int maxSequenceLength)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        int crop = PromptTemplate.CropStart;
        using var tokens = LlamaTokenizer.Encode(prompts.Select(PromptTemplate.Format).ToArray(), maxSequenceLength + crop);
        var hidden = TextEncoder.HiddenStateFromEnd(tokens.InputIds.to(Options.Device), tokens.AttentionMask.to(Options.Device), HiddenStateSkipLayer);
        var mask = tokens.AttentionMask.to(Options.Device);
        if (crop > 0)
        {
            hidden = hidden.narrow(1, crop, hidden.shape[1] - crop);
            mask = mask.narrow(1, crop, mask.shape[1] - crop);
        }
        using var clipTokens = ClipTokenizer.Encode(prompts, ClipMaxLength);
        using var clip = TextEncoder2.Forward(clipTokens.InputIds.to(Options.Device));
        var pooled = clip.PoolerOutput.to(Options.DType);
        var embeds = hidden.to(Options.DType);
        EncoderOutput.RequireFinite([embeds, pooled], Folder.TextEncoder.Path, Folder.TextEncoder2.Path);
        return new TextConditioning(embeds.contiguous().MoveToOuterDisposeScope(), mask.ne(0).contiguous().MoveToOuterDisposeScope(),
            pooled.MoveToOuterDisposeScope());
    }

    /// <summary>The starting latents [B, in_channels, (F − 1) / 4 + 1, H / 8, W / 8] in float32: the request's own, or seeded noise (diffusers' prepare_latents).</summary>
    public Tensor InitialLatents(GenerationRequest request)
    {
        if (request.Height % 16 != 0 || request.Width % 16 != 0)
            throw new VDiTLensException($"height × width = {request.Height} × {request.Width}: HunyuanVideoPipeline needs both divisible by 16");
        return StartingLatents.Create(Geometry.LatentShape(request.BatchSize, request.Frames, request.Height, request.Width), request, Options.Device);
    }

    /// <summary>The sigmas HunyuanVideoPipeline passes to the scheduler: linspace(1, 0, steps + 1) without the last.</summary>
    public static double[] Sigmas(int steps) => Enumerable.Range(0, steps).Select(i => 1.0 - (double)i / steps).ToArray();

    public Tensor Generate(GenerationRequest request)
    {
        using var latents = Denoise(request);
        return DecodeLatents(latents);
    }

    /// <summary>The denoising loop only: the final latents [B, C, F, H, W] on the device (model dtype), before decoding.</summary>
    public Tensor Denoise(GenerationRequest request)
    {
        request.Validate();
        request.RejectDynamicCfg(ClassName);
        request.RejectWan22Options(ClassName);
        using var _ = torch.no_grad();
        int batch = request.BatchSize;
        bool trueCfg = request.TrueCfgScale > 1.0;
        var latents = InitialLatents(request);
        try
        {
            using var cond = request.PromptEmbeds is { } givenCond
                ? Given(givenCond, request.PromptAttentionMask, request.PooledPromptEmbeds, batch, "PromptEmbeds")
                : EncodePrompts(request.Prompts, request.MaxSequenceLength);
            using var uncond = !trueCfg ? null
                : request.NegativePromptEmbeds is { } givenUncond
                    ? Given(givenUncond, request.NegativePromptAttentionMask, request.NegativePooledPromptEmbeds, batch, "NegativePromptEmbeds")
                    : EncodePrompts(Enumerable.Repeat(request.NegativePrompt, batch).ToArray(), request.MaxSequenceLength);
            Scheduler.SetTimesteps(Sigmas(request.Steps));
            // diffusers: torch.tensor([guidance_scale] * B, dtype=transformer_dtype) * 1000.0, rounded in that dtype.
            using var guidance = Folder.TransformerConfig.guidance_embeds
                ? torch.full(new long[] { batch }, request.GuidanceScale, dtype: Options.DType, device: Options.Device) * 1000.0
                : null;
            var loop = new GuidedDenoisingLoop(Scheduler, Seam, (x, t, text) => Transformer.Forward(x, t.to(x.dtype), text.Embeds, text.Mask!, text.Pooled!,
                    guidance is null ? null : guidance.shape[0] == x.shape[0] ? guidance : guidance.repeat(x.shape[0] / batch)),
                Folder.Transformer.Path)
            {
                GuidanceScaleAt = (_, _) => request.TrueCfgScale,
            };
            return loop.Run(latents, cond, uncond, request);
        }
        catch
        {
            latents.Dispose();
            throw;
        }
    }

    private TextConditioning Given(Tensor embeds, Tensor? mask, Tensor? pooled, int batch, string what)
    {
        if (mask is null || pooled is null)
            throw new VDiTLensException($"{what} is given without its attention mask or pooled embeddings; HunyuanVideo needs all three (diffusers' prompt_embeds, prompt_attention_mask, pooled_prompt_embeds)");
        int p = Folder.TransformerConfig.pooled_projection_dim;
        if (pooled.dim() != 2 || pooled.shape[0] != batch || pooled.shape[1] != p)
            throw new VDiTLensException($"the pooled embeddings given with {what} are [{string.Join(", ", pooled.shape)}]; they must be [{batch}, {p}] (pooled_projection_dim)");
        var text = TextConditioning.FromGiven(embeds, mask, batch, Folder.TransformerConfig.text_embed_dim, what, Options.DType, Options.Device);
        using (text)
            return new TextConditioning(text.Embeds.alias(), text.Mask!.alias(), pooled.to(Options.DType).to(Options.Device).clone());
    }

    /// <summary>Latents [B, C, F, H, W] → latents / scaling_factor → VAE decode → video [B, 1 + 4(F − 1), 8H, 8W, 3] float32 in [0, 1] on the CPU.</summary>
    public Tensor DecodeLatents(Tensor latents)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var pixels = Vae.Decode(latents.to(Vae.DType) / Folder.VaeConfig.scaling_factor);
        return VideoPostprocessor.ToVideo(pixels, $"the VAE decode produced non-finite values; check the vae weights ({Folder.Vae.Path}), or run in float32")
            .MoveToOuterDisposeScope();
    }

    string ITextToVideoPipeline.FolderPath => Folder.Folder.Path;
    ModelFolder ITextToVideoPipeline.TransformerFolder => Folder.Transformer;
    TextConditioning ITextToVideoPipeline.EncodeText(IReadOnlyList<string> prompts, int maxSequenceLength) => EncodePrompts(prompts, maxSequenceLength);
    public DenoisingObjective Objective => DenoisingObjective.FlowMatching(Scheduler);

    /// <summary>As the loop: the timestep in the latents' dtype and, with guidance_embeds, guidance = guidance_scale · 1000 in the model dtype.</summary>
    public IReadOnlyDictionary<string, Tensor> TransformerInputs(Tensor latents, Tensor timestep, TextConditioning text, double guidanceScale)
    {
        var inputs = new Dictionary<string, Tensor>
        {
            ["hidden_states"] = latents, ["timestep"] = timestep.to(latents.dtype), ["encoder_hidden_states"] = text.Embeds,
            ["encoder_attention_mask"] = text.Mask!, ["pooled_projections"] = text.Pooled!,
        };
        if (Folder.TransformerConfig.guidance_embeds)
            inputs["guidance"] = torch.full(new[] { latents.shape[0] }, guidanceScale, dtype: Options.DType, device: latents.device) * 1000.0;
        return inputs;
    }

    public void Dispose()
    {
        Transformer.Dispose();
        TextEncoder.Dispose();
        TextEncoder2.Dispose();
        Vae.Dispose();
    }
}
