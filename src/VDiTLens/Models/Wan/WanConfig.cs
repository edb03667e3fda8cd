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
    /// <summary>Wan2.1 I2V: the width of the image encoder's hidden states (the image embedder's input); null without one.</summary>
    public int? image_dim { get; init; }
    /// <summary>Wan2.1 I2V: the input width of the image key/value projections of every cross-attention; null without them.</summary>
    public int? added_kv_proj_dim { get; init; }
    /// <summary>Wan2.1 FLF2V: the length of the image embedder's position embedding (two images' tokens); null without it.</summary>
    public int? pos_embed_seq_len { get; init; }

    public int InnerDim => num_attention_heads * attention_head_dim;

    public static WanConfig Read(ModelFolder folder)
    {
        var r = new ConfigReader(folder.Config, Path.Combine(folder.Path, "config.json"));
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
            image_dim = r.Get<int?>("image_dim", null),
            added_kv_proj_dim = r.Get<int?>("added_kv_proj_dim", null),
            pos_embed_seq_len = r.Get<int?>("pos_embed_seq_len", null),
        };
        if (config.patch_size.Length != 3)
            throw new VDiTLensException($"{r.File}: field 'patch_size' must have 3 entries (t, h, w)");
        if (config.attention_head_dim % 2 != 0)
            throw new VDiTLensException($"{r.File}: field 'attention_head_dim' must be even for the rotary embedding");
        if (config.image_dim is null != config.added_kv_proj_dim is null)
            throw new VDiTLensException($"{r.File}: fields 'image_dim' = {Show(config.image_dim)} and 'added_kv_proj_dim' = {Show(config.added_kv_proj_dim)}: image conditioning (Wan2.1 I2V) needs both set, text-to-video both null");
        if (config.added_kv_proj_dim is { } kv && kv != config.InnerDim)
            throw new VDiTLensException($"{r.File}: field 'added_kv_proj_dim' = {kv} must equal num_attention_heads × attention_head_dim = {config.InnerDim}: the image key/value projections read the image embedder's output");
        if (config.pos_embed_seq_len is { } n && (config.image_dim is null || n <= 0 || n % 2 != 0))
            throw new VDiTLensException($"{r.File}: field 'pos_embed_seq_len' = {n} needs image_dim set and a positive even length (two images' tokens, Wan2.1 FLF2V)");
        if (config.image_dim is <= 0)
            throw new VDiTLensException($"{r.File}: field 'image_dim' = {config.image_dim} must be positive");
        return config;
    }

    /// <summary>Whether the model takes image embeddings (encoder_hidden_states_image): Wan2.1 I2V / FLF2V.</summary>
    public bool HasImageConditioning => image_dim is not null;

    private static string Show(int? value) => value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null";
}
