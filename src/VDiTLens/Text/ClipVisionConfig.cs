using VDiTLens.IO;
using VDiTLens.Models.Common;

namespace VDiTLens.Text;

/// <summary>The fields of a transformers <c>CLIPVisionConfig</c> config.json that the vision tower uses (same names, same defaults).</summary>
public sealed record ClipVisionConfig
{
    public int hidden_size { get; init; } = 768;
    public int intermediate_size { get; init; } = 3072;
    public int projection_dim { get; init; } = 512;
    public int num_hidden_layers { get; init; } = 12;
    public int num_attention_heads { get; init; } = 12;
    public int num_channels { get; init; } = 3;
    public int image_size { get; init; } = 224;
    public int patch_size { get; init; } = 32;
    public string hidden_act { get; init; } = "quick_gelu";
    public double layer_norm_eps { get; init; } = 1e-5;

    /// <summary>Patches per side: image_size / patch_size.</summary>
    public int PatchesPerSide => image_size / patch_size;

    /// <summary>Tokens: the class token and one per patch (257 for Wan's ViT-H/14 at 224).</summary>
    public int NumPositions => PatchesPerSide * PatchesPerSide + 1;

    /// <summary>The encoder layers' settings, which the vision tower shares with the text tower's layers.</summary>
    public ClipTextConfig Encoder => new()
    {
        hidden_size = hidden_size,
        intermediate_size = intermediate_size,
        num_hidden_layers = num_hidden_layers,
        num_attention_heads = num_attention_heads,
        hidden_act = hidden_act,
        layer_norm_eps = layer_norm_eps,
    };

    public static ClipVisionConfig Read(ModelFolder folder)
    {
        var r = new ConfigReader(folder.Config, Path.Combine(folder.Path, "config.json"));
        if (r.Has("text_config") && r.Has("vision_config"))
            throw new VDiTLensException($"{r.File}: this is a full CLIPModel config; point at a CLIPVisionModel folder (e.g. a pipeline's image_encoder/)");
        r.RejectUnless("model_type", n => n is null || n.GetValue<string>() == "clip_vision_model", "a model type other than clip_vision_model");
        var d = new ClipVisionConfig();
        var config = new ClipVisionConfig
        {
            hidden_size = r.Get("hidden_size", d.hidden_size),
            intermediate_size = r.Get("intermediate_size", d.intermediate_size),
            projection_dim = r.Get("projection_dim", d.projection_dim),
            num_hidden_layers = r.Get("num_hidden_layers", d.num_hidden_layers),
            num_attention_heads = r.Get("num_attention_heads", d.num_attention_heads),
            num_channels = r.Get("num_channels", d.num_channels),
            image_size = r.Get("image_size", d.image_size),
            patch_size = r.Get("patch_size", d.patch_size),
            hidden_act = r.Get("hidden_act", d.hidden_act),
            layer_norm_eps = r.Get("layer_norm_eps", d.layer_norm_eps),
        };
        if (!ClipTextConfig.SupportedActivations.Contains(config.hidden_act))
            throw new VDiTLensException($"{r.File}: field 'hidden_act' = \"{config.hidden_act}\" is not supported (use {string.Join(", ", ClipTextConfig.SupportedActivations)})");
        if (config.num_attention_heads <= 0 || config.hidden_size % config.num_attention_heads != 0)
            throw new VDiTLensException($"{r.File}: field 'hidden_size' = {config.hidden_size} is not a multiple of num_attention_heads = {config.num_attention_heads}");
        if (config.patch_size <= 0 || config.image_size % config.patch_size != 0)
            throw new VDiTLensException($"{r.File}: field 'image_size' = {config.image_size} is not a multiple of patch_size = {config.patch_size}");
        if (config.num_hidden_layers < 2)
            throw new VDiTLensException($"{r.File}: field 'num_hidden_layers' = {config.num_hidden_layers}: the penultimate hidden state needs at least 2 layers");
        return config;
    }
}
