using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan;

/// <summary>
/// The Wan2.1 / Wan2.2 text-to-video transformer (diffusers' WanTransformer3DModel: Wan2.1, each Wan2.2 A14B expert, the
/// TI2V-5B with per-token timesteps, Wan2.1 I2V / FLF2V with image embeddings), parameter names identical to diffusers checkpoints. Input latents [B, C, F, H, W]; tokens ordered (f, h, w) after the 3D patch embedding.
/// </summary>
public sealed class WanTransformer3DModel : nn.Module, IVideoTransformer
{
    public WanConfig Config { get; }
    public AttentionSeam Seam { get; }
    public string ClassName => "WanTransformer3DModel";
    public IReadOnlyList<AttentionSite> Sites { get; }
    public IReadOnlyList<string> RequiredInputs { get; }

    /// <summary>The block stack's hooks; blocks are named <c>blocks.{i}</c>, their streams hold video tokens only.</summary>
    public BlockHooks Hooks { get; }

    private readonly WanRotaryEmbedding _rope;
    private readonly ScalarType _dtype;
    public Conv3d patch_embedding;
    public WanConditionEmbedder condition_embedder;
    public ModuleList<WanTransformerBlock> blocks;
    public Fp32LayerNorm norm_out;
    public Linear proj_out;
    public Parameter scale_shift_table;

    /// <summary>The parameters diffusers keeps in float32 when the model runs in bf16/fp16 (its _keep_in_fp32_modules).</summary>
    public static ScalarType KeepDtype(ScalarType dtype) => dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    /// <param name="seam">The seam to attend through; a new one when null. The two experts of a Wan2.2 A14B pipeline share one.</param>
    /// <param name="hooks">The block hooks to run the stack through (named <c>blocks.{i}</c>, one per layer); new ones when null.</param>
    public WanTransformer3DModel(WanConfig config, Device device, ScalarType dtype, AttentionSeam? seam = null, BlockHooks? hooks = null) : base("WanTransformer3DModel")
    {
        Config = config;
        Seam = seam ?? new AttentionSeam();
        if (hooks is not null && hooks.Names.Count != config.num_layers)
            throw new ArgumentException($"the shared block hooks name {hooks.Names.Count} blocks but the model has num_layers = {config.num_layers}", nameof(hooks));
        _dtype = dtype;
        var keep = KeepDtype(dtype);
        long dim = config.InnerDim;
        var p = config.patch_size.Select(x => (long)x).ToArray();
        _rope = new WanRotaryEmbedding(config.attention_head_dim, config.rope_max_seq_len, device);
        register_module("patch_embedding", patch_embedding = nn.Conv3d(config.in_channels, dim, (p[0], p[1], p[2]), stride: (p[0], p[1], p[2]), device: device, dtype: dtype));
        register_module("condition_embedder", condition_embedder = new WanConditionEmbedder(config, device, dtype, keep));
        blocks = new ModuleList<WanTransformerBlock>();
        for (int i = 0; i < config.num_layers; i++)
            blocks.Add(new WanTransformerBlock(config, i, Seam, device, dtype, keep));
        register_module("blocks", blocks);
        register_module("norm_out", norm_out = new Fp32LayerNorm(dim, config.eps, false, device, keep));
        register_module("proj_out", proj_out = Layers.Linear(dim, config.out_channels * p[0] * p[1] * p[2], device, dtype));
        register_parameter("scale_shift_table", scale_shift_table = new Parameter(torch.randn(1, 2, dim, dtype: keep, device: device) / Math.Sqrt(dim)));
        Sites = blocks.SelectMany(b => new[] { b.attn1.Site, b.attn2.ImageSite, b.attn2.Site }).OfType<AttentionSite>().ToList();
        RequiredInputs = config.HasImageConditioning
            ? new[] { "hidden_states", "timestep", "encoder_hidden_states", "encoder_hidden_states_image" }
            : new[] { "hidden_states", "timestep", "encoder_hidden_states" };
        Hooks = hooks ?? new BlockHooks(Enumerable.Range(0, blocks.Count).Select(i => $"blocks.{i}").ToList());
    }

    public static WanTransformer3DModel Load(ModelFolder folder, ComputeOptions options, AttentionSeam? seam = null, BlockHooks? hooks = null) =>
        WeightLoader.LoadFolder(new WanTransformer3DModel(WanConfig.Read(folder), options.Device, options.DType, seam, hooks), folder, ignoreUnexpected: name => name.Contains("norm_added_q"));

    public Tensor Forward(IReadOnlyDictionary<string, Tensor> inputs)
    {
        foreach (var key in RequiredInputs)
            if (!inputs.ContainsKey(key))
                throw new VDiTLensException($"input '{key}' is missing (WanTransformer3DModel needs {string.Join(", ", RequiredInputs)})");
        return Forward(inputs["hidden_states"], inputs["timestep"], inputs["encoder_hidden_states"],
            Config.HasImageConditioning ? inputs["encoder_hidden_states_image"] : null);
    }

    /// <param name="latents">[B, in_channels, F, H, W]</param>
    /// <param name="timestep">[B] (integer or float), or [B, tokens] per token in (f, h, w) order (Wan2.2 TI2V's expand_timesteps)</param>
    /// <param name="text">[B, L, text_dim]</param>
    /// <param name="image">
    /// Wan2.1 I2V (image_dim set): the image encoder's hidden states [B, N, image_dim] (FLF2V: [2B, N, image_dim]);
    /// null otherwise. diffusers concatenates the embedded image tokens before the text and splits them off again by
    /// taking the last 512 context tokens as text; here they stay separate, which is the same whenever the text has
    /// 512 tokens, as the pipeline gives it.
    /// </param>
    public Tensor Forward(Tensor latents, Tensor timestep, Tensor text, Tensor? image = null)
    {
        Validate(latents, timestep, text, image);
        using var scope = torch.NewDisposeScope();
        long b = latents.shape[0];
        int[] p = Config.patch_size;
        var grid = new VideoGrid((int)latents.shape[2] / p[0], (int)latents.shape[3] / p[1], (int)latents.shape[4] / p[2]);
        var video = TokenLayout.Video(grid);
        var textLayout = TokenLayout.Text(text.shape[1]);
        var rotary = _rope.Tables(grid);

        var x = CpuSafeConvolution.Conv3d(patch_embedding, latents.to(_dtype), stride: patch_embedding.weight!.shape[2..]).flatten(2).transpose(1, 2).contiguous();
        var (temb, timestepProj, context) = condition_embedder.Forward(timestep.to(latents.device), text.to(_dtype));
        var imageTokens = image is null ? null : condition_embedder.image_embedder!.Forward(image.to(latents.device).to(_dtype));
        var imageLayout = imageTokens is null ? null : TokenLayout.Text(imageTokens.shape[1]);
        for (int i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            var next = Hooks.Run(i, new BlockStream(x, null), s => new BlockStream(block.Forward(s.Video, context, timestepProj, rotary, video, textLayout, imageTokens, imageLayout), null));
            x.Dispose();
            x = next.Video;
        }

        // temb [B, dim] → shift, scale [B, 1, dim]; per-token temb [B, L, dim] → [B, L, dim]
        var mod = WanTransformerBlock.Modulation(scale_shift_table, temb.unsqueeze(-2), 2, upcast: false);
        x = (norm_out.forward(x.to(ScalarType.Float32)) * (mod[1] + 1) + mod[0]).to(x.dtype);
        x = proj_out.forward(x);
        x = x.reshape(b, grid.Frames, grid.Height, grid.Width, p[0], p[1], p[2], -1)
            .permute(0, 7, 1, 4, 2, 5, 3, 6)
            .flatten(6, 7).flatten(4, 5).flatten(2, 3);
        return x.MoveToOuterDisposeScope();
    }

    private void Validate(Tensor latents, Tensor timestep, Tensor text, Tensor? image)
    {
        if (Config.image_dim is { } imageDim)
        {
            long rows = Config.pos_embed_seq_len is null ? latents.shape[0] : 2 * latents.shape[0];
            if (image is null || image.dim() != 3 || image.shape[0] != rows || image.shape[2] != imageDim)
                throw new VDiTLensException($"encoder_hidden_states_image must be [{rows}, tokens, {imageDim}] (the image encoder's hidden states{(rows == latents.shape[0] ? "" : ", two images a video")}); got {(image is null ? "none" : $"[{string.Join(", ", image.shape)}]")}");
        }
        else if (image is not null)
            throw new VDiTLensException("encoder_hidden_states_image given, but this WanTransformer3DModel has no image embedder (image_dim null)");
        int[] p = Config.patch_size;
        if (latents.dim() != 5 || latents.shape[1] != Config.in_channels)
            throw new VDiTLensException($"hidden_states must be [batch, {Config.in_channels}, frames, height, width]; got [{string.Join(", ", latents.shape)}]");
        for (int i = 0; i < 3; i++)
            if (latents.shape[2 + i] % p[i] != 0)
                throw new VDiTLensException($"hidden_states [{string.Join(", ", latents.shape)}]: frames/height/width must be multiples of patch_size [{string.Join(", ", p)}]");
        if (latents.shape[2] / p[0] > Config.rope_max_seq_len || latents.shape[3] / p[1] > Config.rope_max_seq_len || latents.shape[4] / p[2] > Config.rope_max_seq_len)
            throw new VDiTLensException($"hidden_states [{string.Join(", ", latents.shape)}]: a patch-grid axis exceeds rope_max_seq_len {Config.rope_max_seq_len}");
        if (text.dim() != 3 || text.shape[2] != Config.text_dim || text.shape[0] != latents.shape[0])
            throw new VDiTLensException($"encoder_hidden_states must be [{latents.shape[0]}, length, {Config.text_dim}]; got [{string.Join(", ", text.shape)}]");
        long tokens = latents.shape[2] / p[0] * (latents.shape[3] / p[1]) * (latents.shape[4] / p[2]);
        bool perSample = timestep.dim() == 1 && timestep.shape[0] == latents.shape[0];
        bool perToken = timestep.dim() == 2 && timestep.shape[0] == latents.shape[0] && timestep.shape[1] == tokens;
        if (!perSample && !perToken)
            throw new VDiTLensException($"timestep must be [{latents.shape[0]}] or, per token, [{latents.shape[0]}, {tokens}]; got [{string.Join(", ", timestep.shape)}]");
    }
}
