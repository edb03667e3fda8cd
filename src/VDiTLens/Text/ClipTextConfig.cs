using VDiTLens.IO;
using VDiTLens.Models.Common;

namespace VDiTLens.Text;

/// <summary>The fields of a transformers <c>CLIPTextConfig</c> config.json that the text tower uses (same names, same defaults).</summary>
public sealed record ClipTextConfig
{
    public static readonly IReadOnlyList<string> SupportedActivations = new[] { "quick_gelu", "gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu" };

    public int vocab_size { get; init; } = 49408;
    public int hidden_size { get; init; } = 512;
    public int intermediate_size { get; init; } = 2048;
    public int projection_dim { get; init; } = 512;
    public int num_hidden_layers { get; init; } = 12;
    public int num_attention_heads { get; init; } = 8;
    public int max_position_embeddings { get; init; } = 77;
    public string hidden_act { get; init; } = "quick_gelu";
    public double layer_norm_eps { get; init; } = 1e-5;
    public int pad_token_id { get; init; } = 1;
    public int bos_token_id { get; init; } = 49406;
    public int eos_token_id { get; init; } = 49407;

    public int HeadDim => hidden_size / num_attention_heads;

    /// <summary>
    /// transformers keeps the pre-2023 pooling (row of the largest id, which was EOS in the original vocabulary)
    /// for configs whose eos_token_id is still the old placeholder 2.
    /// </summary>
    public bool LegacyPooling => eos_token_id == 2;

    public static ClipTextConfig Read(ModelFolder folder)
    {
        var r = new ConfigReader(folder.Config, Path.Combine(folder.Path, "config.json"));
        if (r.Has("text_config") && r.Has("vision_config"))
            throw new VDiTLensException($"{r.File}: this is a full CLIPModel config; point at a CLIPTextModel folder (e.g. a pipeline's text_encoder_2/)");
        r.RejectUnless("model_type", n => n is null || n.GetValue<string>() == "clip_text_model", "a model type other than clip_text_model");
        var d = new ClipTextConfig();
        var config = new ClipTextConfig
        {
            vocab_size = r.Get("vocab_size", d.vocab_size),
            hidden_size = r.Get("hidden_size", d.hidden_size),
            intermediate_size = r.Get("intermediate_size", d.intermediate_size),
            projection_dim = r.Get("projection_dim", d.projection_dim),
            num_hidden_layers = r.Get("num_hidden_layers", d.num_hidden_layers),
            num_attention_heads = r.Get("num_attention_heads", d.num_attention_heads),
            max_position_embeddings = r.Get("max_position_embeddings", d.max_position_embeddings),
            hidden_act = r.Get("hidden_act", d.hidden_act),
            layer_norm_eps = r.Get("layer_norm_eps", d.layer_norm_eps),
            pad_token_id = r.Get("pad_token_id", d.pad_token_id),
            bos_token_id = r.Get("bos_token_id", d.bos_token_id),
            eos_token_id = r.Get("eos_token_id", d.eos_token_id),
        };
        if (!SupportedActivations.Contains(config.hidden_act))
            throw new VDiTLensException($"{r.File}: field 'hidden_act' = \"{config.hidden_act}\" is not supported (use {string.Join(", ", SupportedActivations)})");
        if (config.num_attention_heads <= 0 || config.hidden_size % config.num_attention_heads != 0)
            throw new VDiTLensException($"{r.File}: field 'hidden_size' = {config.hidden_size} is not a multiple of num_attention_heads = {config.num_attention_heads}");
        if (config.max_position_embeddings <= 0)
            throw new VDiTLensException($"{r.File}: field 'max_position_embeddings' = {config.max_position_embeddings} must be positive");
        return config;
    }
}
