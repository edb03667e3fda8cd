using VDiTLens.Models.Wan;

namespace VDiTLens.Benchmarks;

/// <summary>Full-size Wan2.1 configurations (as in the released checkpoints' config.json).</summary>
public static class WanPresets
{
    public static WanConfig Wan13B => new()
    {
        num_attention_heads = 12, attention_head_dim = 128, ffn_dim = 8960, num_layers = 30,
        in_channels = 16, out_channels = 16, text_dim = 4096, freq_dim = 256, cross_attn_norm = true,
    };

    public static WanConfig Wan14B => new()
    {
        num_attention_heads = 40, attention_head_dim = 128, ffn_dim = 13824, num_layers = 40,
        in_channels = 16, out_channels = 16, text_dim = 4096, freq_dim = 256, cross_attn_norm = true,
    };

    public static WanConfig ByName(string name) => name switch
    {
        "wan-1.3b" => Wan13B,
        "wan-14b" => Wan14B,
        _ => throw new VDiTLensException($"unknown preset '{name}' (use wan-1.3b or wan-14b)"),
    };
}
