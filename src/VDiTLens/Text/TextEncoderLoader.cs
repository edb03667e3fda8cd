using VDiTLens.IO;
using VDiTLens.Runtime;

namespace VDiTLens.Text;

/// <summary>Builds a text encoder from a model folder (or a pipeline's <c>text_encoder/</c>) by its config.json class.</summary>
public static class TextEncoderLoader
{
    private static readonly HashSet<string> T5Classes = new(StringComparer.Ordinal)
    {
        "T5EncoderModel", "UMT5EncoderModel", "T5Model", "UMT5Model", "T5ForConditionalGeneration", "UMT5ForConditionalGeneration",
    };

    private static readonly HashSet<string> ClipClasses = new(StringComparer.Ordinal) { "CLIPTextModel" };

    /// <param name="component">the pipeline component to open when <paramref name="path"/> is a pipeline (HunyuanVideo's CLIP is <c>text_encoder_2</c>)</param>
    public static ITextEncoder Load(string path, ComputeOptions options, string component = "text_encoder")
    {
        if (PipelineFolder.IsPipeline(path))
            path = PipelineFolder.Open(path).ComponentPath(component);
        var folder = ModelFolder.Open(path);
        string? className = folder.ClassName;
        string? modelType = folder.Config["model_type"]?.GetValue<string>();
        if ((className is not null && T5Classes.Contains(className)) || (className is null && modelType is "t5" or "umt5"))
            return T5EncoderModel.Load(folder, options);
        if ((className is not null && ClipClasses.Contains(className)) || (className is null && modelType is "clip_text_model"))
            return ClipTextModel.Load(folder, options);
        throw new VDiTLensException($"{folder.Path}/config.json: text encoder class '{className ?? modelType ?? "?"}' is not supported (supported: {string.Join(", ", T5Classes.Concat(ClipClasses))})");
    }
}
