using VDiTLens.IO;
using VDiTLens.Models.Common;

namespace VDiTLens.Models.HunyuanVideo;

/// <summary>HunyuanVideoTransformer3DModel's config.json fields (diffusers names and defaults).</summary>
public sealed record HunyuanVideoConfig
{
    public int in_channels { get; init; } = 16;
    public int out_channels { get; init; } = 16;
    public int num_attention_heads { get; init; } = 24;
    public int attention_head_dim { get; init; } = 128;
    public int num_layers { get; init; } = 20;
    public int num_single_layers { get; init; } = 40;
    public int num_refiner_layers { get; init; } = 2;
    public double mlp_ratio { get; init; } = 4.0;
    public int patch_size { get; init; } = 2;
    public int patch_size_t { get; init; } = 1;
    public string qk_norm { get; init; } = "rms_norm";
    public bool guidance_embeds { get; init; } = true;
    public int text_embed_dim { get; init; } = 4096;
    public int pooled_projection_dim { get; init; } = 768;
    public double rope_theta { get; init; } = 256.0;
    public int[] rope_axes_dim { get; init; } = { 16, 56, 56 };
    public string? image_condition_type { get; init; }

    public int InnerDim => num_attention_heads * attention_head_dim;

    /// <summary>Width of the dual/single-stream MLPs: int(hidden * mlp_ratio) as diffusers truncates.</summary>
    public int MlpDim => (int)(InnerDim * mlp_ratio);

    public static HunyuanVideoConfig Read(ModelFolder folder)
    {
        var r = new ConfigReader(folder.Config, Path.Combine(folder.Path, "config.json"));
        // latent_concat only changes in_channels (the pipeline concatenates the image latents); the transformer is the same.
        r.RejectUnless("image_condition_type", n => n is null || n.GetValue<string>() == "latent_concat",
            "image conditioning by first-frame token replacement (HunyuanVideo I2V 'token_replace'); only null or 'latent_concat' are supported");
        r.RejectUnless("qk_norm", n => n is null || n.GetValue<string>() == "rms_norm", "a q/k norm other than rms_norm");
        var d = new HunyuanVideoConfig();
        var c = new HunyuanVideoConfig
        {
            in_channels = r.Get("in_channels", d.in_channels),
            out_channels = r.Get<int?>("out_channels", null) ?? r.Get("in_channels", d.in_channels),
            num_attention_heads = r.Get("num_attention_heads", d.num_attention_heads),
            attention_head_dim = r.Get("attention_head_dim", d.attention_head_dim),
            num_layers = r.Get("num_layers", d.num_layers),
            num_single_layers = r.Get("num_single_layers", d.num_single_layers),
            num_refiner_layers = r.Get("num_refiner_layers", d.num_refiner_layers),
            mlp_ratio = r.Get("mlp_ratio", d.mlp_ratio),
            patch_size = r.Get("patch_size", d.patch_size),
            patch_size_t = r.Get("patch_size_t", d.patch_size_t),
            qk_norm = r.Get("qk_norm", d.qk_norm),
            guidance_embeds = r.Get("guidance_embeds", d.guidance_embeds),
            text_embed_dim = r.Get("text_embed_dim", d.text_embed_dim),
            pooled_projection_dim = r.Get("pooled_projection_dim", d.pooled_projection_dim),
            rope_theta = r.Get("rope_theta", d.rope_theta),
            rope_axes_dim = r.Ints("rope_axes_dim", d.rope_axes_dim),
            image_condition_type = r.Get<string?>("image_condition_type", null),
        };
        if (c.rope_axes_dim.Length != 3 || c.rope_axes_dim.Any(x => x <= 0 || x % 2 != 0))
            throw new VDiTLensException($"{r.File}: field 'rope_axes_dim' must have 3 positive even entries (t, h, w); got [{string.Join(", ", c.rope_axes_dim)}]");
        if (c.rope_axes_dim.Sum() != c.attention_head_dim)
            throw new VDiTLensException($"{r.File}: field 'rope_axes_dim' [{string.Join(", ", c.rope_axes_dim)}] must sum to attention_head_dim {c.attention_head_dim}");
        if (c.patch_size <= 0 || c.patch_size_t <= 0)
            throw new VDiTLensException($"{r.File}: fields 'patch_size' and 'patch_size_t' must be positive integers");
        return c;
    }
}
