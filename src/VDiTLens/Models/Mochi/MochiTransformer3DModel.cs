using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi;

/// <summary>
/// Mochi-1 transformer (diffusers' MochiTransformer3DModel), parameter names identical to diffusers checkpoints.
/// Input latents [B, C, F, H, W]; joint sequence [video, text], video tokens ordered (f, h, w). As in diffusers,
/// no module is kept in float32, but the RMS norms, the rotary tables and rotation, and the timestep sinusoids
/// compute in float32.
/// </summary>
public sealed class MochiTransformer3DModel : nn.Module, IVideoTransformer
{
    public MochiConfig Config { get; }
    public AttentionSeam Seam { get; } = new();
    public string ClassName => "MochiTransformer3DModel";
    public IReadOnlyList<AttentionSite> Sites { get; }
    public IReadOnlyList<string> RequiredInputs { get; } = new[] { "hidden_states", "encoder_hidden_states", "timestep", "encoder_attention_mask" };

    /// <summary>The block stack's hooks; blocks are named <c>transformer_blocks.{i}</c>; the observer also receives the rotary tables (<c>rope.cos|sin</c>, the fixture's keys).</summary>
    public BlockHooks Hooks { get; }

    private readonly ScalarType _dtype;
    public MochiPatchEmbed patch_embed;
    public MochiTimestepCaptionEmbedding time_embed;
    public Parameter pos_frequencies;
    public ModuleList<MochiTransformerBlock> transformer_blocks;
    public MochiOutputNorm norm_out;
    public Linear proj_out;

    public MochiTransformer3DModel(MochiConfig config, Device device, ScalarType dtype) : base("MochiTransformer3DModel")
    {
        Config = config;
        _dtype = dtype;
        long dim = config.InnerDim, p = config.patch_size;
        register_module("patch_embed", patch_embed = new MochiPatchEmbed(config.in_channels, dim, p, device, dtype));
        register_module("time_embed", time_embed = new MochiTimestepCaptionEmbedding(config, Seam, device, dtype));
        register_parameter("pos_frequencies", pos_frequencies = new Parameter(
            torch.zeros(3, config.num_attention_heads, config.attention_head_dim / 2, dtype: dtype, device: device)));
        transformer_blocks = new ModuleList<MochiTransformerBlock>();
        for (int i = 0; i < config.num_layers; i++)
            transformer_blocks.Add(new MochiTransformerBlock(config, i, i == config.num_layers - 1, Seam, device, dtype));
        register_module("transformer_blocks", transformer_blocks);
        register_module("norm_out", norm_out = new MochiOutputNorm(dim, dim, 1e-6, device, dtype));
        register_module("proj_out", proj_out = Layers.Linear(dim, p * p * config.out_channels, device, dtype));
        Sites = new[] { time_embed.pooler.Site }.Concat(transformer_blocks.Select(b => b.attn1.Site)).ToList();
        Hooks = new BlockHooks(Enumerable.Range(0, transformer_blocks.Count).Select(i => $"transformer_blocks.{i}").ToList());
    }

    public static MochiTransformer3DModel Load(ModelFolder folder, ComputeOptions options) =>
        WeightLoader.LoadFolder(new MochiTransformer3DModel(MochiConfig.Read(folder), options.Device, options.DType), folder);

    public Tensor Forward(IReadOnlyDictionary<string, Tensor> inputs)
    {
        foreach (var key in RequiredInputs)
            if (!inputs.ContainsKey(key))
                throw new VDiTLensException($"input '{key}' is missing (MochiTransformer3DModel needs {string.Join(", ", RequiredInputs)})");
        return Forward(inputs["hidden_states"], inputs["encoder_hidden_states"], inputs["timestep"], inputs["encoder_attention_mask"]);
    }

    /// <param name="latents">[B, in_channels, F, H, W]</param>
    /// <param name="text">[B, L, text_embed_dim]</param>
    /// <param name="timestep">[B]</param>
    /// <param name="textMask">[B, L] bool or 0/1: real text tokens, which must come before the padding</param>
    public Tensor Forward(Tensor latents, Tensor text, Tensor timestep, Tensor textMask)
    {
        var grid = Validate(latents, text, timestep, textMask);
        using var scope = torch.NewDisposeScope();
        var device = latents.device;
        long b = latents.shape[0];
        int p = Config.patch_size;
        var mask = textMask.to(device).ne(0);

        var (temb, context) = time_embed.Forward(timestep.to(device), text.to(_dtype), mask);

        var x = patch_embed.Forward(latents.to(_dtype), grid);

        var rotary = MochiRotaryEmbedding.Tables(pos_frequencies, grid);
        Hooks.Report("rope.cos", rotary.Cos);
        Hooks.Report("rope.sin", rotary.Sin);

        var valid = torch.cat(new[] { torch.ones(b, grid.Count, dtype: ScalarType.Bool, device: device), mask }, 1);
        var layout = TokenLayout.Concat(valid, TokenLayout.Video(grid), TokenLayout.Text(text.shape[1]));
        var prefixKeys = SharedPrefix(mask, grid.Count, valid.view(b, 1, 1, valid.shape[1]));
        for (int i = 0; i < transformer_blocks.Count; i++)
        {
            var block = transformer_blocks[i];
            var output = Hooks.Run(i, new BlockStream(x, context), s =>
            {
                var (v, t) = block.Forward(s.Video, s.Text!, temb, rotary, valid, layout, prefixKeys);
                return new BlockStream(v, t);
            });
            (x, context) = (output.Video, output.Text!);
        }

        x = proj_out.forward(norm_out.forward(x, temb));
        x = x.reshape(b, grid.Frames, grid.Height, grid.Width, p, p, -1)
            .permute(0, 6, 1, 2, 4, 3, 5)
            .reshape(b, -1, grid.Frames, latents.shape[3], latents.shape[4]);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Real text tokens form a prefix (checked in Validate); when every row has as many, the joint key mask
    /// [video, text] is one shared prefix that the dense kernel attends without a mask, as diffusers drops them.
    /// </summary>
    private static PrefixKeyMask? SharedPrefix(Tensor textValid, long videoTokens, Tensor keyMask)
    {
        using var scope = torch.NewDisposeScope();
        var counts = textValid.to(ScalarType.Int32).sum(1, type: ScalarType.Int64);
        long first = counts[0].item<long>();
        if (!counts.eq(first).all().item<bool>()) return null;
        return new PrefixKeyMask(keyMask, videoTokens + first);
    }

    private VideoGrid Validate(Tensor latents, Tensor text, Tensor timestep, Tensor textMask)
    {
        int p = Config.patch_size;
        if (latents.dim() != 5 || latents.shape[1] != Config.in_channels)
            throw new VDiTLensException($"hidden_states must be [batch, {Config.in_channels}, frames, height, width]; got [{string.Join(", ", latents.shape)}]");
        if (latents.shape[3] % p != 0 || latents.shape[4] % p != 0)
            throw new VDiTLensException($"hidden_states [{string.Join(", ", latents.shape)}]: height and width must be multiples of patch_size {p}");
        long b = latents.shape[0];
        if (text.dim() != 3 || text.shape[2] != Config.text_embed_dim || text.shape[0] != b)
            throw new VDiTLensException($"encoder_hidden_states must be [{b}, length, {Config.text_embed_dim}]; got [{string.Join(", ", text.shape)}]");
        if (timestep.dim() != 1 || timestep.shape[0] != b)
            throw new VDiTLensException($"timestep must be [{b}]; got [{string.Join(", ", timestep.shape)}]");
        if (textMask.dim() != 2 || textMask.shape[0] != b || textMask.shape[1] != text.shape[1])
            throw new VDiTLensException($"encoder_attention_mask must be [{b}, {text.shape[1]}]; got [{string.Join(", ", textMask.shape)}]");
        using (var scope = torch.NewDisposeScope())
        {
            // The batched masked attention equals diffusers' per-sample token dropping only for prefix masks.
            var m = textMask.ne(0).to(ScalarType.Int32);
            if (m[.., 1..].gt(m[.., ..^1]).any().item<bool>())
                throw new VDiTLensException("encoder_attention_mask: real text tokens must come before the padding in every row (as the tokenizer pads); other masks are not supported");
        }
        return new VideoGrid((int)latents.shape[2], (int)latents.shape[3] / p, (int)latents.shape[4] / p);
    }
}
