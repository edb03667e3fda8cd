using VDiTLens.IO;
using VDiTLens.Models.Common;

namespace VDiTLens.Models.Wan;

/// <summary>The fields of diffusers' WanTransformer3DModel config.json (same names, same defaults).</summary>
public sealed record WanConfig
{
    public int[] patch_size { get; init; } = { 1, 2, 2 };
    public int num_attention_heads { get; init; } = 40;
    public int attention_head_dim { get; init; } = 128;
    public int in_channels { get; init; } = 16;
    public int out_channels { get; init; } = 16;
    public int text_dim { get; init; } = 4096;
    public int freq_dim { get; init; } = 256;
    public int ffn_dim { get; init; } = 13824;
    public int num_layers { get; init; } = 40;
    public bool cross_attn_norm { get; init; } = true;
    public string? qk_norm { get; init; } = "rms_norm_across_heads";
    public double eps { get; init; } = 1e-6;
    public int rope_max_seq_len { get; init; } = 1024;

    public int InnerDim => num_attention_heads * attention_head_dim;

    public static WanConfig Read(ModelFolder folder)
    {
        var r = new ConfigReader(folder.Config, Path.Combine(folder.Path, "config.json"));
        r.RejectUnless("image_dim", n => n is null, "the image-to-video image embedder (Wan I2V)");
        r.RejectUnless("added_kv_proj_dim", n => n is null, "image cross-attention projections (Wan I2V)");
        r.RejectUnless("pos_embed_seq_len", n => n is null, "image position embeddings (Wan FLF2V)");
        r.RejectUnless("qk_norm", n => n is null || n.GetValue<string>() == "rms_norm_across_heads", "a q/k norm other than rms_norm_across_heads");
        var defaults = new WanConfig();
        var config = new WanConfig
        {
            patch_size = r.Get("patch_size", defaults.patch_size),
            num_attention_heads = r.Get("num_attention_heads", defaults.num_attention_heads),
            attention_head_dim = r.Get("attention_head_dim", defaults.attention_head_dim),
            in_channels = r.Get("in_channels", defaults.in_channels),
            out_channels = r.Get<int?>("out_channels", null) ?? r.Get("in_channels", defaults.in_channels),
            text_dim = r.Get("text_dim", defaults.text_dim),
            freq_dim = r.Get("freq_dim", defaults.freq_dim),
            ffn_dim = r.Get("ffn_dim", defaults.ffn_dim),
            num_layers = r.Get("num_layers", defaults.num_layers),
            cross_attn_norm = r.Get("cross_attn_norm", defaults.cross_attn_norm),
            qk_norm = r.Get<string?>("qk_norm", defaults.qk_norm),
            eps = r.Get("eps", defaults.eps),
            rope_max_seq_len = r.Get("rope_max_seq_len", defaults.rope_max_seq_len),
        };
        if (config.patch_size.Length != 3)
            throw new VDiTLensException($"{r.File}: field 'patch_size' must have 3 entries (t, h, w)");
        if (config.attention_head_dim % 2 != 0)
            throw new VDiTLensException($"{r.File}: field 'attention_head_dim' must be even for the rotary embedding");
        return config;
    }
}
