using VDiTLens.IO;
using VDiTLens.Runtime;

namespace VDiTLens.Models.Common;

/// <summary>Builds the right model family from a folder's <c>config.json</c> <c>_class_name</c> and loads its weights.</summary>
public static class TransformerLoader
{
    private static readonly Dictionary<string, Func<ModelFolder, ComputeOptions, IVideoTransformer>> Families = new()
    {
        ["WanTransformer3DModel"] = (f, o) => Wan.WanTransformer3DModel.Load(f, o),
        ["HunyuanVideoTransformer3DModel"] = (f, o) => HunyuanVideo.HunyuanVideoTransformer3DModel.Load(f, o),
        ["CogVideoXTransformer3DModel"] = (f, o) => CogVideoX.CogVideoXTransformer3DModel.Load(f, o),
        ["MochiTransformer3DModel"] = (f, o) => Mochi.MochiTransformer3DModel.Load(f, o),
    };

    public static IReadOnlyCollection<string> SupportedClasses => Families.Keys;

    public static IVideoTransformer Load(string path, ComputeOptions options)
    {
        if (PipelineFolder.IsPipeline(path))
            path = PipelineFolder.Open(path).ComponentPath("transformer");
        var folder = ModelFolder.Open(path);
        string? className = folder.ClassName;
        if (className is null)
            throw new VDiTLensException($"{folder.Path}/config.json: no '_class_name' field; cannot tell which model this is");
        if (!Families.TryGetValue(className, out var build))
            throw new VDiTLensException($"{folder.Path}/config.json: _class_name '{className}' is not supported (supported: {string.Join(", ", Families.Keys)})");
        return build(folder, options);
    }
}
