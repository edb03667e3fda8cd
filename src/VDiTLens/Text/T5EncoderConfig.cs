using VDiTLens.IO;
using VDiTLens.Models.Common;

namespace VDiTLens.Text;

/// <summary>The fields of a transformers T5 / UMT5 config.json that the encoder stack uses (same names, same defaults).</summary>
public sealed record T5EncoderConfig
{
    public string model_type { get; init; } = "t5";
    public int vocab_size { get; init; } = 32128;
    public int d_model { get; init; } = 512;
    public int d_kv { get; init; } = 64;
    public int d_ff { get; init; } = 2048;
    public int num_layers { get; init; } = 6;
    public int num_heads { get; init; } = 8;
    public int relative_attention_num_buckets { get; init; } = 32;
    public int relative_attention_max_distance { get; init; } = 128;
    public double layer_norm_epsilon { get; init; } = 1e-6;
    public string feed_forward_proj { get; init; } = "relu";

    /// <summary>UMT5 gives every layer its own relative-position bias; T5 computes it in layer 0 and shares it.</summary>
    public bool BiasInEveryLayer => model_type == "umt5";
    public bool IsGated => feed_forward_proj.StartsWith("gated-", StringComparison.Ordinal);

    /// <summary>The FFN activation as transformers resolves it: "gated-gelu" means gelu_new (tanh approximation).</summary>
    public string Activation => feed_forward_proj == "gated-gelu" ? "gelu_new" : feed_forward_proj.Split('-')[^1];

    public long InnerDim => (long)num_heads * d_kv;

    public static T5EncoderConfig Read(ModelFolder folder)
    {
        var r = new ConfigReader(folder.Config, Path.Combine(folder.Path, "config.json"));
        var d = new T5EncoderConfig();
        string modelType = r.Get<string?>("model_type", null) ?? (folder.ClassName?.StartsWith("UMT5", StringComparison.Ordinal) == true ? "umt5" : "t5");
        if (modelType is not ("t5" or "umt5"))
            throw new VDiTLensException($"{r.File}: field 'model_type' = \"{modelType}\" is not a T5 or UMT5 encoder");
        var config = new T5EncoderConfig
        {
            model_type = modelType,
            vocab_size = r.Get("vocab_size", d.vocab_size),
            d_model = r.Get("d_model", d.d_model),
            d_kv = r.Get("d_kv", d.d_kv),
            d_ff = r.Get("d_ff", d.d_ff),
            num_layers = r.Get("num_layers", d.num_layers),
            num_heads = r.Get("num_heads", d.num_heads),
            relative_attention_num_buckets = r.Get("relative_attention_num_buckets", d.relative_attention_num_buckets),
            relative_attention_max_distance = r.Get("relative_attention_max_distance", d.relative_attention_max_distance),
            layer_norm_epsilon = r.Get("layer_norm_epsilon", d.layer_norm_epsilon),
            feed_forward_proj = r.Get("feed_forward_proj", d.feed_forward_proj),
        };
        var parts = config.feed_forward_proj.Split('-');
        if (parts.Length > 2 || (parts.Length == 2 && parts[0] != "gated") || config.Activation is not ("relu" or "gelu" or "gelu_new" or "silu"))
            throw new VDiTLensException($"{r.File}: field 'feed_forward_proj' = \"{config.feed_forward_proj}\" is not supported (use relu, gelu, gated-gelu, gated-relu or gated-silu)");
        if (config.relative_attention_num_buckets < 4)
            throw new VDiTLensException($"{r.File}: field 'relative_attention_num_buckets' = {config.relative_attention_num_buckets} must be at least 4");
        return config;
    }
}
