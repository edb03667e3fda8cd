using VDiTLens.IO;
using VDiTLens.Models.Common;

namespace VDiTLens.Models.Mochi;

/// <summary>The fields of diffusers' MochiTransformer3DModel config.json (same names, same defaults).</summary>
public sealed record MochiConfig
{
    public int patch_size { get; init; } = 2;
    public int num_attention_heads { get; init; } = 24;
    public int attention_head_dim { get; init; } = 128;
    public int num_layers { get; init; } = 48;
    public int pooled_projection_dim { get; init; } = 1536;
    public int in_channels { get; init; } = 12;
    public int out_channels { get; init; } = 12;
    public int text_embed_dim { get; init; } = 4096;
    public int time_embed_dim { get; init; } = 256;
    public int max_sequence_length { get; init; } = 256;

    /// <summary>MochiCombinedTimestepCaptionEmbedding's attention pool always has 8 heads.</summary>
    public const int PoolHeads = 8;

    public int InnerDim => num_attention_heads * attention_head_dim;

    public static MochiConfig Read(ModelFolder folder)
    {
        var r = new ConfigReader(folder.Config, Path.Combine(folder.Path, "config.json"));
        r.RejectUnless("qk_norm", n => n is null || n.GetValue<string>() == "rms_norm", "a q/k norm other than rms_norm");
        r.RejectUnless("activation_fn", n => n is null || n.GetValue<string>() == "swiglu", "a feed-forward activation other than swiglu");
        var d = new MochiConfig();
        int inChannels = r.Get("in_channels", d.in_channels);
        var config = new MochiConfig
        {
            patch_size = r.Get("patch_size", d.patch_size),
            num_attention_heads = r.Get("num_attention_heads", d.num_attention_heads),
            attention_head_dim = r.Get("attention_head_dim", d.attention_head_dim),
            num_layers = r.Get("num_layers", d.num_layers),
            pooled_projection_dim = r.Get("pooled_projection_dim", d.pooled_projection_dim),
            in_channels = inChannels,
            out_channels = r.Get<int?>("out_channels", null) ?? inChannels,
            text_embed_dim = r.Get("text_embed_dim", d.text_embed_dim),
            time_embed_dim = r.Get("time_embed_dim", d.time_embed_dim),
            max_sequence_length = r.Get("max_sequence_length", d.max_sequence_length),
        };
        if (config.attention_head_dim % 2 != 0)
            throw new VDiTLensException($"{r.File}: field 'attention_head_dim' = {config.attention_head_dim} must be even for the rotary embedding");
        if (config.text_embed_dim % PoolHeads != 0)
            throw new VDiTLensException($"{r.File}: field 'text_embed_dim' = {config.text_embed_dim} must be divisible by the attention pool's {PoolHeads} heads");
        return config;
    }
}
