using System.Text.Json.Nodes;
using VDiTLens.IO;
using VDiTLens.Models.Common;

namespace VDiTLens.Models.Llama;

/// <summary>transformers' LlamaConfig fields (config.json names); only the default rotary embedding and SiLU MLP.</summary>
public sealed record LlamaConfig
{
    public int vocab_size { get; init; } = 32000;
    public int hidden_size { get; init; } = 4096;
    public int intermediate_size { get; init; } = 11008;
    public int num_hidden_layers { get; init; } = 32;
    public int num_attention_heads { get; init; } = 32;
    public int num_key_value_heads { get; init; } = 32;
    public int? head_dim { get; init; }
    public double rms_norm_eps { get; init; } = 1e-6;
    public double rope_theta { get; init; } = 10000.0;
    public int max_position_embeddings { get; init; } = 2048;
    public bool attention_bias { get; init; }
    public bool mlp_bias { get; init; }
    public bool tie_word_embeddings { get; init; }

    public int HeadDim => head_dim ?? hidden_size / num_attention_heads;

    public static LlamaConfig Read(ModelFolder folder)
    {
        var r = new ConfigReader(folder.Config, Path.Combine(folder.Path, "config.json"));
        r.RejectUnless("model_type", n => n is null || n.GetValue<string>() == "llama", "a model type other than llama");
        r.RejectUnless("hidden_act", n => n is null || n.GetValue<string>() == "silu", "an MLP activation other than silu");
        r.RejectUnless("rope_scaling", n => n is null || RopeType(n) == "default", "rotary scaling (only the default rope is implemented)");
        r.RejectUnless("rope_parameters", n => n is null || RopeType(n) is null or "default", "rotary scaling (only the default rope is implemented)");
        r.RejectUnless("pretraining_tp", n => n is null || n.GetValue<int>() == 1, "tensor-parallel pretraining slices (pretraining_tp > 1)");
        var d = new LlamaConfig();
        int heads = r.Get("num_attention_heads", d.num_attention_heads);
        var config = new LlamaConfig
        {
            vocab_size = r.Get("vocab_size", d.vocab_size),
            hidden_size = r.Get("hidden_size", d.hidden_size),
            intermediate_size = r.Get("intermediate_size", d.intermediate_size),
            num_hidden_layers = r.Get("num_hidden_layers", d.num_hidden_layers),
            num_attention_heads = heads,
            num_key_value_heads = r.Get<int?>("num_key_value_heads", null) ?? heads,
            head_dim = r.Get<int?>("head_dim", null),
            rms_norm_eps = r.Get("rms_norm_eps", d.rms_norm_eps),
            // transformers 5 writes rope_theta inside rope_parameters; older configs at the top level.
            rope_theta = folder.Config["rope_parameters"]?["rope_theta"] is JsonValue theta ? theta.GetValue<double>() : r.Get("rope_theta", d.rope_theta),
            max_position_embeddings = r.Get("max_position_embeddings", d.max_position_embeddings),
            attention_bias = r.Get("attention_bias", d.attention_bias),
            mlp_bias = r.Get("mlp_bias", d.mlp_bias),
            tie_word_embeddings = r.Get("tie_word_embeddings", d.tie_word_embeddings),
        };
        if (config.num_attention_heads % config.num_key_value_heads != 0)
            throw new VDiTLensException($"{r.File}: num_attention_heads {config.num_attention_heads} is not a multiple of num_key_value_heads {config.num_key_value_heads}");
        if (config.HeadDim % 2 != 0)
            throw new VDiTLensException($"{r.File}: the head dimension ({config.HeadDim}) must be even for the rotary embedding");
        return config;
    }

    private static string? RopeType(JsonNode n) => (n["rope_type"] ?? n["type"])?.GetValue<string>();
}
