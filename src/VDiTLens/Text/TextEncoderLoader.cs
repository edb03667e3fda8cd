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

    public static ITextEncoder Load(string path, ComputeOptions options)
    {
        if (PipelineFolder.IsPipeline(path))
            path = PipelineFolder.Open(path).ComponentPath("text_encoder");
        var folder = ModelFolder.Open(path);
        string? className = folder.ClassName;
        string? modelType = folder.Config["model_type"]?.GetValue<string>();
        if ((className is not null && T5Classes.Contains(className)) || (className is null && modelType is "t5" or "umt5"))
            return T5EncoderModel.Load(folder, options);
        throw new VDiTLensException($"{folder.Path}/config.json: text encoder class '{className ?? modelType ?? "?"}' is not supported (supported: {string.Join(", ", T5Classes)})");
    }
}
