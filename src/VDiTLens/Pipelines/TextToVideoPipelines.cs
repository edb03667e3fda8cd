using VDiTLens.IO;
using VDiTLens.Runtime;

namespace VDiTLens.Pipelines;

/// <summary>Loads a diffusers pipeline folder as the pipeline its model_index.json <c>_class_name</c> names.</summary>
public static class TextToVideoPipelines
{
    /// <summary>The pipelines vditlens runs, by diffusers class name.</summary>
    private static readonly Dictionary<string, Func<string, ComputeOptions, ITextToVideoPipeline>> Loaders = new()
    {
        [WanPipelineFolder.PipelineClass] = (path, options) => WanPipeline.Load(path, options),
        [WanPipelineFolder.ImageToVideoClass] = (path, options) => WanPipeline.Load(path, options),
        [CogVideoXPipelineFolder.PipelineClass] = CogVideoXPipeline.Load,
        [MochiPipelineFolder.PipelineClass] = MochiPipeline.Load,
        [HunyuanVideoPipelineFolder.PipelineClass] = HunyuanVideoPipeline.Load,
    };

    public static IReadOnlyCollection<string> SupportedClasses => Loaders.Keys;

    public static ITextToVideoPipeline Load(string path, ComputeOptions options)
    {
        if (!Directory.Exists(path)) throw new VDiTLensException($"{path}: pipeline folder not found");
        if (!PipelineFolder.IsPipeline(path))
            throw new VDiTLensException($"{path}: no model_index.json; --model must be a diffusers pipeline folder (pipe.save_pretrained)");
        string? className = PipelineFolder.Open(path).ClassName;
        if (className is null || !Loaders.TryGetValue(className, out var load))
            throw new VDiTLensException(
                $"{Path.Combine(path, "model_index.json")}: _class_name '{className ?? "missing"}' is not a pipeline vditlens can run (supported: {string.Join(", ", SupportedClasses)})");
        return load(path, options);
    }
}
