using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo;

/// <summary>
/// HunyuanVideo text-to-video transformer (diffusers' HunyuanVideoTransformer3DModel), parameter names identical to
/// diffusers checkpoints: token refiner over the text, dual-stream then single-stream blocks over the joint
/// sequence [video, text] (video first) with a key-padding mask on the text. Every parameter is in the model dtype
/// (diffusers keeps none in float32); sinusoids, rotary tables and rotary application run in float32, as in diffusers.
/// </summary>
public sealed class HunyuanVideoTransformer3DModel : nn.Module, IVideoTransformer
{
    public HunyuanVideoConfig Config { get; }
    public AttentionSeam Seam { get; } = new();
    public string ClassName => "HunyuanVideoTransformer3DModel";
    public IReadOnlyList<AttentionSite> Sites { get; }
    public IReadOnlyList<string> RequiredInputs { get; }

    /// <summary>
    /// The block stack's hooks: the dual-stream blocks <c>transformer_blocks.{i}</c>, then the single-stream
    /// <c>single_transformer_blocks.{i}</c>; the observer also receives the refined text (<c>context_embedder.hidden</c>).
    /// </summary>
    public BlockHooks Hooks { get; }

    private readonly HunyuanVideoRotaryPosEmbed _rope;
    private readonly ScalarType _dtype;
    public HunyuanVideoPatchEmbed x_embedder;
    public HunyuanVideoTokenRefiner context_embedder;
    public TimestepTextConditioning time_text_embed;
    public ModuleList<HunyuanVideoTransformerBlock> transformer_blocks;
    public ModuleList<HunyuanVideoSingleTransformerBlock> single_transformer_blocks;
    public AdaLayerNormContinuous norm_out;
    public Linear proj_out;

    public HunyuanVideoTransformer3DModel(HunyuanVideoConfig config, Device device, ScalarType dtype) : base("HunyuanVideoTransformer3DModel")
    {
        Config = config;
        _dtype = dtype;
        long dim = config.InnerDim;
        _rope = new HunyuanVideoRotaryPosEmbed(config.rope_axes_dim, config.rope_theta);
        register_module("x_embedder", x_embedder = new HunyuanVideoPatchEmbed(config.in_channels, dim, config.patch_size_t, config.patch_size, device, dtype));
        register_module("context_embedder", context_embedder = new HunyuanVideoTokenRefiner(config, Seam, device, dtype));
        register_module("time_text_embed", time_text_embed = new TimestepTextConditioning(dim, config.pooled_projection_dim, config.guidance_embeds, device, dtype, "HunyuanVideoConditionEmbedding"));
        transformer_blocks = new ModuleList<HunyuanVideoTransformerBlock>();
        for (int i = 0; i < config.num_layers; i++)
            transformer_blocks.Add(new HunyuanVideoTransformerBlock(config, i, Seam, device, dtype));
        register_module("transformer_blocks", transformer_blocks);
        single_transformer_blocks = new ModuleList<HunyuanVideoSingleTransformerBlock>();
        for (int i = 0; i < config.num_single_layers; i++)
            single_transformer_blocks.Add(new HunyuanVideoSingleTransformerBlock(config, i, Seam, device, dtype));
        register_module("single_transformer_blocks", single_transformer_blocks);
        register_module("norm_out", norm_out = new AdaLayerNormContinuous(dim, device, dtype));
        register_module("proj_out", proj_out = Layers.Linear(dim, (long)config.patch_size_t * config.patch_size * config.patch_size * config.out_channels, device, dtype));

        Sites = context_embedder.token_refiner.refiner_blocks.Select(b => b.attn.Site)
            .Concat(transformer_blocks.Select(b => b.attn.Site))
            .Concat(single_transformer_blocks.Select(b => b.attn.Site))
            .ToList();
        Hooks = new BlockHooks(Enumerable.Range(0, transformer_blocks.Count).Select(i => $"transformer_blocks.{i}")
            .Concat(Enumerable.Range(0, single_transformer_blocks.Count).Select(i => $"single_transformer_blocks.{i}")).ToList());
        var required = new List<string> { "hidden_states", "timestep", "encoder_hidden_states", "encoder_attention_mask", "pooled_projections" };
        if (config.guidance_embeds) required.Add("guidance");
        RequiredInputs = required;
    }

    public static HunyuanVideoTransformer3DModel Load(ModelFolder folder, ComputeOptions options) =>
        WeightLoader.LoadFolder(new HunyuanVideoTransformer3DModel(HunyuanVideoConfig.Read(folder), options.Device, options.DType), folder);

    /// <summary>The rotary tables for a latent of the given shape [B, C, F, H, W]: cos, sin each [F'·H'·W', head_dim] float32.</summary>
    public (Tensor Cos, Tensor Sin) RotaryTables(long[] latentShape, Device device) => _rope.Tables(GridOf(latentShape), device);

    public Tensor Forward(IReadOnlyDictionary<string, Tensor> inputs)
    {
        foreach (var key in RequiredInputs)
            if (!inputs.ContainsKey(key))
                throw new VDiTLensException($"input '{key}' is missing (HunyuanVideoTransformer3DModel needs {string.Join(", ", RequiredInputs)})");
        return Forward(inputs["hidden_states"], inputs["timestep"], inputs["encoder_hidden_states"], inputs["encoder_attention_mask"],
            inputs["pooled_projections"], inputs.GetValueOrDefault("guidance"));
    }

    /// <param name="latents">[B, in_channels, F, H, W]</param>
    /// <param name="timestep">[B]</param>
    /// <param name="text">[B, L, text_embed_dim]</param>
    /// <param name="textMask">[B, L], 1 for real tokens and 0 for padding (valid tokens first, as tokenizers pad)</param>
    /// <param name="pooled">[B, pooled_projection_dim]</param>
    /// <param name="guidance">[B] (guidance_scale·1000), when guidance_embeds</param>
    public Tensor Forward(Tensor latents, Tensor timestep, Tensor text, Tensor textMask, Tensor pooled, Tensor? guidance)
    {
        Validate(latents, timestep, text, textMask, pooled, guidance);
        using var scope = torch.NewDisposeScope();
        var device = x_embedder.proj.weight!.device;
        long b = latents.shape[0];
        var grid = GridOf(latents.shape);
        latents = latents.to(_dtype, device);
        text = text.to(_dtype, device);
        textMask = textMask.to(device);
        timestep = timestep.to(device);
        guidance = guidance?.to(device);

        var rotary = _rope.Tables(grid, device);
        var temb = time_text_embed.Forward(timestep, pooled.to(_dtype, device), guidance);
        var video = x_embedder.forward(latents);
        var refinerLayout = TokenLayout.Text(text.shape[1], HunyuanVideoAttentionMasks.TextValid(textMask));
        var context = context_embedder.Forward(text, timestep, textMask, refinerLayout);
        Hooks.Report("context_embedder.hidden", context);

        var keys = HunyuanVideoAttentionMasks.JointKeys(textMask, grid.Count);
        var layout = TokenLayout.Concat(keys, TokenLayout.Video(grid), TokenLayout.Text(text.shape[1]));
        var mask = keys.unsqueeze(1).unsqueeze(1);
        var prefixKeys = HunyuanVideoAttentionMasks.SharedPrefix(textMask, grid.Count, mask);
        int dual = transformer_blocks.Count;
        for (int i = 0; i < dual + single_transformer_blocks.Count; i++)
        {
            BlockRun run = i < dual
                ? Bind(transformer_blocks[i].Forward)
                : Bind(single_transformer_blocks[i - dual].Forward);
            var output = Hooks.Run(i, new BlockStream(video, context), run);
            (video, context) = (output.Video, output.Text!);
        }

        BlockRun Bind(Func<Tensor, Tensor, Tensor, Tensor, (Tensor, Tensor), TokenLayout, PrefixKeyMask?, (Tensor Video, Tensor Text)> block) => s =>
        {
            var (v, t) = block(s.Video, s.Text!, temb, mask, rotary, layout, prefixKeys);
            return new BlockStream(v, t);
        };

        var x = proj_out.forward(norm_out.Forward(video, temb));
        int p = Config.patch_size, pt = Config.patch_size_t;
        x = x.reshape(b, grid.Frames, grid.Height, grid.Width, Config.out_channels, pt, p, p)
            .permute(0, 4, 1, 5, 2, 6, 3, 7)
            .flatten(6, 7).flatten(4, 5).flatten(2, 3);
        return x.MoveToOuterDisposeScope();
    }

    private VideoGrid GridOf(long[] shape) =>
        new((int)(shape[2] / Config.patch_size_t), (int)(shape[3] / Config.patch_size), (int)(shape[4] / Config.patch_size));

    private void Validate(Tensor latents, Tensor timestep, Tensor text, Tensor textMask, Tensor pooled, Tensor? guidance)
    {
        var c = Config;
        string Shape(Tensor t) => $"[{string.Join(", ", t.shape)}]";
        if (latents.dim() != 5 || latents.shape[1] != c.in_channels)
            throw new VDiTLensException($"hidden_states must be [batch, {c.in_channels}, frames, height, width]; got {Shape(latents)}");
        if (latents.shape[2] % c.patch_size_t != 0 || latents.shape[3] % c.patch_size != 0 || latents.shape[4] % c.patch_size != 0)
            throw new VDiTLensException($"hidden_states {Shape(latents)}: frames must be a multiple of patch_size_t {c.patch_size_t} and height/width multiples of patch_size {c.patch_size}");
        long b = latents.shape[0];
        if (text.dim() != 3 || text.shape[0] != b || text.shape[2] != c.text_embed_dim)
            throw new VDiTLensException($"encoder_hidden_states must be [{b}, length, {c.text_embed_dim}]; got {Shape(text)}");
        if (textMask.dim() != 2 || textMask.shape[0] != b || textMask.shape[1] != text.shape[1])
            throw new VDiTLensException($"encoder_attention_mask must be [{b}, {text.shape[1]}] (1 = real token, 0 = padding); got {Shape(textMask)}");
        if (pooled.dim() != 2 || pooled.shape[0] != b || pooled.shape[1] != c.pooled_projection_dim)
            throw new VDiTLensException($"pooled_projections must be [{b}, {c.pooled_projection_dim}]; got {Shape(pooled)}");
        if (timestep.dim() != 1 || timestep.shape[0] != b)
            throw new VDiTLensException($"timestep must be [{b}]; got {Shape(timestep)}");
        if (c.guidance_embeds && guidance is null)
            throw new VDiTLensException("input 'guidance' is missing: config.json has guidance_embeds = true (HunyuanVideoPipeline passes guidance_scale * 1000)");
        if (guidance is not null && (guidance.dim() != 1 || guidance.shape[0] != b))
            throw new VDiTLensException($"guidance must be [{b}]; got {Shape(guidance)}");
    }
}
