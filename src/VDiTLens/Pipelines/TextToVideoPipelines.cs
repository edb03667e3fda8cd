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

    /// <summary>The same pipelines built from their folder's configs with random weights (seeded with the options' seed).</summary>
    private static readonly Dictionary<string, Func<string, ComputeOptions, ITextToVideoPipeline>> RandomBuilders = new()
    {
        [WanPipelineFolder.PipelineClass] = (path, options) => WanPipeline.CreateRandom(path, options),
        [CogVideoXPipelineFolder.PipelineClass] = CogVideoXPipeline.CreateRandom,
        [MochiPipelineFolder.PipelineClass] = MochiPipeline.CreateRandom,
        [HunyuanVideoPipelineFolder.PipelineClass] = HunyuanVideoPipeline.CreateRandom,
    };

    public static IReadOnlyCollection<string> SupportedClasses => Loaders.Keys;

    public static ITextToVideoPipeline Load(string path, ComputeOptions options) => Open(path, options, Loaders);

    /// <summary>
    /// Every component from the folder's configs with random weights: the folder may hold configs and tokenizers only
    /// (e.g. a <see cref="PipelinePreset"/>'s).
    /// </summary>
    public static ITextToVideoPipeline CreateRandom(string path, ComputeOptions options) => Open(path, options, RandomBuilders);

    private static ITextToVideoPipeline Open(string path, ComputeOptions options, Dictionary<string, Func<string, ComputeOptions, ITextToVideoPipeline>> builders)
    {
        if (!Directory.Exists(path)) throw new VDiTLensException($"{path}: pipeline folder not found");
        if (!PipelineFolder.IsPipeline(path))
            throw new VDiTLensException($"{path}: no model_index.json; --model must be a diffusers pipeline folder (pipe.save_pretrained)");
        string? className = PipelineFolder.Open(path).ClassName;
        if (className is null || !builders.TryGetValue(className, out var load))
            throw new VDiTLensException(
                $"{Path.Combine(path, "model_index.json")}: _class_name '{className ?? "missing"}' is not a pipeline vditlens can run (supported: {string.Join(", ", SupportedClasses)})");
        return load(path, options);
    }
}
