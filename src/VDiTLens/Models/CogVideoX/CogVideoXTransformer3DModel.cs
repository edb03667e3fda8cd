using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX;

/// <summary>
/// CogVideoX 1.0 transformer (diffusers' CogVideoXTransformer3DModel), 2B style (3D sin-cos positions) and 5B style
/// (rotary), parameter names identical to diffusers checkpoints. Input latents [B, F, C, H, W]; joint sequence
/// [text, video], video tokens ordered (f, h, w). diffusers keeps no module in float32 here: only the timestep
/// sinusoids and the rotary product are float32.
/// </summary>
public sealed class CogVideoXTransformer3DModel : nn.Module, IVideoTransformer
{
    public const string RotaryCosInput = "image_rotary_emb_cos", RotarySinInput = "image_rotary_emb_sin";

    public CogVideoXConfig Config { get; }
    public AttentionSeam Seam { get; } = new();
    public string ClassName => "CogVideoXTransformer3DModel";
    public IReadOnlyList<AttentionSite> Sites { get; }
    public IReadOnlyList<string> RequiredInputs { get; } = new[] { "hidden_states", "encoder_hidden_states", "timestep" };

    /// <summary>The block stack's hooks; blocks are named <c>transformer_blocks.{i}</c>.</summary>
    public BlockHooks Hooks { get; }

    private readonly ScalarType _dtype;
    public CogVideoXPatchEmbed patch_embed;
    public TimestepEmbedding time_embedding;
    public ModuleList<CogVideoXBlock> transformer_blocks;
    public LayerNorm norm_final;
    public CogVideoXOutputNorm norm_out;
    public Linear proj_out;

    public CogVideoXTransformer3DModel(CogVideoXConfig config, Device device, ScalarType dtype) : base("CogVideoXTransformer3DModel")
    {
        Config = config;
        _dtype = dtype;
        long dim = config.InnerDim;
        register_module("patch_embed", patch_embed = new CogVideoXPatchEmbed(config, device, dtype));
        register_module("time_embedding", time_embedding = new TimestepEmbedding(dim, config.time_embed_dim, device, dtype, config.timestep_activation_fn));
        transformer_blocks = new ModuleList<CogVideoXBlock>();
        for (int i = 0; i < config.num_layers; i++)
            transformer_blocks.Add(new CogVideoXBlock(config, i, Seam, device, dtype));
        register_module("transformer_blocks", transformer_blocks);
        register_module("norm_final", norm_final = nn.LayerNorm(dim, config.norm_eps, config.norm_elementwise_affine, config.norm_elementwise_affine, device: device, dtype: dtype));
        register_module("norm_out", norm_out = new CogVideoXOutputNorm(config.time_embed_dim, dim, config.norm_elementwise_affine, config.norm_eps, device, dtype));
        register_module("proj_out", proj_out = Layers.Linear(dim, (long)config.patch_size * config.patch_size * config.out_channels, device, dtype));
        Sites = transformer_blocks.Select(b => b.attn1.Site).ToList();
        Hooks = new BlockHooks(Enumerable.Range(0, transformer_blocks.Count).Select(i => $"transformer_blocks.{i}").ToList());
    }

    public static CogVideoXTransformer3DModel Load(ModelFolder folder, ComputeOptions options)
    {
        var config = CogVideoXConfig.Read(folder);
        var model = new CogVideoXTransformer3DModel(config, options.Device, options.DType);
        using var weights = folder.OpenWeights();
        // Some tools save the non-persistent 2B sin-cos buffer; it is recomputed here.
        WeightLoader.Load(model, weights, ignoreUnexpected: name => name == "patch_embed.pos_embedding");
        model.eval();
        return model;
    }

    public Tensor Forward(IReadOnlyDictionary<string, Tensor> inputs)
    {
        foreach (var key in RequiredInputs)
            if (!inputs.ContainsKey(key))
                throw new VDiTLensException($"input '{key}' is missing (CogVideoXTransformer3DModel needs {string.Join(", ", RequiredInputs)})");
        (Tensor, Tensor)? rotary = null;
        bool hasCos = inputs.TryGetValue(RotaryCosInput, out var cos), hasSin = inputs.TryGetValue(RotarySinInput, out var sin);
        if (hasCos != hasSin)
            throw new VDiTLensException($"inputs: give both '{RotaryCosInput}' and '{RotarySinInput}' or neither (then they are computed as CogVideoXPipeline does)");
        if (hasCos) rotary = (cos!, sin!);
        return Forward(inputs["hidden_states"], inputs["encoder_hidden_states"], inputs["timestep"], rotary);
    }

    /// <param name="latents">[B, F, in_channels, H, W]</param>
    /// <param name="text">[B, L, text_embed_dim]</param>
    /// <param name="timestep">[B] (integer or float)</param>
    /// <param name="rotary">diffusers' image_rotary_emb (cos, sin) [F·H/p·W/p, head_dim]; computed as the pipeline does when null on a rotary (5B-style) model.</param>
    public Tensor Forward(Tensor latents, Tensor text, Tensor timestep, (Tensor Cos, Tensor Sin)? rotary = null)
    {
        var grid = Validate(latents, text, timestep, rotary);
        using var scope = torch.NewDisposeScope();
        long b = latents.shape[0];
        int p = Config.patch_size;
        var device = latents.device;
        // As diffusers: given tables are always applied; the pipeline makes them only for rotary (5B-style) models.
        if (rotary is { } r)
            rotary = (r.Cos.to(device), r.Sin.to(device));
        else if (Config.use_rotary_positional_embeddings)
            rotary = CogVideoXRotaryEmbedding.Tables(Config, grid, device);
        long textLength = text.shape[1];
        var layout = TokenLayout.Concat(null, TokenLayout.Text(textLength), TokenLayout.Video(grid));

        var sinusoid = TimestepSinusoids.Embed(timestep.to(device), Config.InnerDim, Config.flip_sin_to_cos, Config.freq_shift);
        var temb = time_embedding.forward(sinusoid.to(_dtype));

        var embeds = patch_embed.Forward(text.to(_dtype), latents.to(_dtype), grid);
        var context = embeds[.., ..(int)textLength];
        var x = embeds[.., (int)textLength..];
        for (int i = 0; i < transformer_blocks.Count; i++)
        {
            var block = transformer_blocks[i];
            var output = Hooks.Run(i, new BlockStream(x, context), s =>
            {
                var (v, t) = block.Forward(s.Video, s.Text!, temb, rotary, layout);
                return new BlockStream(v, t);
            });
            (x, context) = (output.Video, output.Text!);
        }

        x = norm_final.forward(x);
        x = norm_out.forward(x, temb);
        x = proj_out.forward(x);
        x = x.reshape(b, grid.Frames, grid.Height, grid.Width, -1, p, p)
            .permute(0, 1, 4, 2, 5, 3, 6)
            .flatten(5, 6).flatten(3, 4);
        return x.MoveToOuterDisposeScope();
    }

    private VideoGrid Validate(Tensor latents, Tensor text, Tensor timestep, (Tensor Cos, Tensor Sin)? rotary)
    {
        int p = Config.patch_size;
        if (latents.dim() != 5 || latents.shape[2] != Config.in_channels)
            throw new VDiTLensException($"hidden_states must be [batch, frames, {Config.in_channels}, height, width] (CogVideoX is frame-major); got [{string.Join(", ", latents.shape)}]");
        if (latents.shape[3] % p != 0 || latents.shape[4] % p != 0)
            throw new VDiTLensException($"hidden_states [{string.Join(", ", latents.shape)}]: height and width must be multiples of patch_size {p}");
        if (text.dim() != 3 || text.shape[2] != Config.text_embed_dim || text.shape[0] != latents.shape[0])
            throw new VDiTLensException($"encoder_hidden_states must be [{latents.shape[0]}, length, {Config.text_embed_dim}]; got [{string.Join(", ", text.shape)}]");
        if (!Config.use_rotary_positional_embeddings && text.shape[1] != Config.max_text_seq_length)
            throw new VDiTLensException($"encoder_hidden_states has {text.shape[1]} tokens; the sin-cos positional table of this model (config max_text_seq_length) needs exactly {Config.max_text_seq_length}");
        if (timestep.dim() != 1 || timestep.shape[0] != latents.shape[0])
            throw new VDiTLensException($"timestep must be [{latents.shape[0]}]; got [{string.Join(", ", timestep.shape)}]");
        var grid = new VideoGrid((int)latents.shape[1], (int)latents.shape[3] / p, (int)latents.shape[4] / p);
        if (rotary is { } r && (r.Cos.dim() != 2 || r.Cos.shape[0] != grid.Count || r.Cos.shape[1] != Config.attention_head_dim || !r.Sin.shape.SequenceEqual(r.Cos.shape)))
            throw new VDiTLensException($"image_rotary_emb must be two [{grid.Count}, {Config.attention_head_dim}] tables (grid {grid}); got cos [{string.Join(", ", r.Cos.shape)}], sin [{string.Join(", ", r.Sin.shape)}]");
        return grid;
    }
}
