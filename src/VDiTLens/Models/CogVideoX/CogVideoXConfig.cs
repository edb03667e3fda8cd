using VDiTLens.IO;
using VDiTLens.Models.Common;

namespace VDiTLens.Models.CogVideoX;

/// <summary>The fields of diffusers' CogVideoXTransformer3DModel config.json (same names, same defaults).</summary>
public sealed record CogVideoXConfig
{
    public int num_attention_heads { get; init; } = 30;
    public int attention_head_dim { get; init; } = 64;
    public int in_channels { get; init; } = 16;
    public int out_channels { get; init; } = 16;
    public bool flip_sin_to_cos { get; init; } = true;
    public int freq_shift { get; init; } = 0;
    public int time_embed_dim { get; init; } = 512;
    public int text_embed_dim { get; init; } = 4096;
    public int num_layers { get; init; } = 30;
    public bool attention_bias { get; init; } = true;
    public int sample_width { get; init; } = 90;
    public int sample_height { get; init; } = 60;
    public int sample_frames { get; init; } = 49;
    public int patch_size { get; init; } = 2;
    public int temporal_compression_ratio { get; init; } = 4;
    public int max_text_seq_length { get; init; } = 226;
    public string activation_fn { get; init; } = "gelu-approximate";
    public string timestep_activation_fn { get; init; } = "silu";
    public bool norm_elementwise_affine { get; init; } = true;
    public double norm_eps { get; init; } = 1e-5;
    public double spatial_interpolation_scale { get; init; } = 1.875;
    public double temporal_interpolation_scale { get; init; } = 1.0;
    public bool use_rotary_positional_embeddings { get; init; }
    public bool patch_bias { get; init; } = true;

    public int InnerDim => num_attention_heads * attention_head_dim;

    public static CogVideoXConfig Read(ModelFolder folder)
    {
        var r = new ConfigReader(folder.Config, Path.Combine(folder.Path, "config.json"));
        r.RejectUnless("patch_size_t", n => n is null, "temporal patching (CogVideoX 1.5)");
        r.RejectUnless("ofs_embed_dim", n => n is null, "the ofs embedding (CogVideoX 1.5 image-to-video)");
        r.RejectUnless("use_learned_positional_embeddings", n => n is null || !n.GetValue<bool>(), "learned positional embeddings (CogVideoX-5B image-to-video)");
        var d = new CogVideoXConfig();
        var config = new CogVideoXConfig
        {
            num_attention_heads = r.Get("num_attention_heads", d.num_attention_heads),
            attention_head_dim = r.Get("attention_head_dim", d.attention_head_dim),
            in_channels = r.Get("in_channels", d.in_channels),
            out_channels = r.Get<int?>("out_channels", null) ?? d.out_channels,
            flip_sin_to_cos = r.Get("flip_sin_to_cos", d.flip_sin_to_cos),
            freq_shift = r.Get("freq_shift", d.freq_shift),
            time_embed_dim = r.Get("time_embed_dim", d.time_embed_dim),
            text_embed_dim = r.Get("text_embed_dim", d.text_embed_dim),
            num_layers = r.Get("num_layers", d.num_layers),
            attention_bias = r.Get("attention_bias", d.attention_bias),
            sample_width = r.Get("sample_width", d.sample_width),
            sample_height = r.Get("sample_height", d.sample_height),
            sample_frames = r.Get("sample_frames", d.sample_frames),
            patch_size = r.Get("patch_size", d.patch_size),
            temporal_compression_ratio = r.Get("temporal_compression_ratio", d.temporal_compression_ratio),
            max_text_seq_length = r.Get("max_text_seq_length", d.max_text_seq_length),
            activation_fn = r.Get("activation_fn", d.activation_fn),
            timestep_activation_fn = r.Get("timestep_activation_fn", d.timestep_activation_fn),
            norm_elementwise_affine = r.Get("norm_elementwise_affine", d.norm_elementwise_affine),
            norm_eps = r.Get("norm_eps", d.norm_eps),
            spatial_interpolation_scale = r.Get("spatial_interpolation_scale", d.spatial_interpolation_scale),
            temporal_interpolation_scale = r.Get("temporal_interpolation_scale", d.temporal_interpolation_scale),
            use_rotary_positional_embeddings = r.Get("use_rotary_positional_embeddings", d.use_rotary_positional_embeddings),
            patch_bias = r.Get("patch_bias", d.patch_bias),
        };
        if (!config.use_rotary_positional_embeddings && config.InnerDim % 16 != 0)
            throw new VDiTLensException($"{r.File}: num_attention_heads × attention_head_dim = {config.InnerDim} must be divisible by 16 for the 3D sin-cos positional embedding");
        if (config.use_rotary_positional_embeddings && config.attention_head_dim % 16 != 0)
            throw new VDiTLensException($"{r.File}: field 'attention_head_dim' = {config.attention_head_dim} must be divisible by 16 for the 3D rotary embedding");
        return config;
    }
}
