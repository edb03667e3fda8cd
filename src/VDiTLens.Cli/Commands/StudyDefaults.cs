using VDiTLens.Pipelines;
using VDiTLens.Procedural;
using VDiTLens.Runtime;

namespace VDiTLens.Cli.Commands;

/// <summary>
/// What the study verbs generate when a size is left unset: for Wan folders the embedded tiny model's procedural clips
/// (the procedural evaluator reads them), for the other pipelines their own diffusers <c>__call__</c> defaults.
/// </summary>
internal static class StudyDefaults
{
    /// <summary>Guidance 5, 20 steps, the 32 × 32 × 9 procedural clip, 16 prompt tokens.</summary>
    public static readonly GenerationDefaults EmbeddedWan = new(5.0, 20, ClipSpec.DefaultHeight, ClipSpec.DefaultWidth, ClipSpec.DefaultFrames, 16);

    public const string Help = "default: the embedded model's for Wan folders, else the pipeline's own";

    public static GenerationDefaults For(ITextToVideoPipeline pipeline) => pipeline is WanPipeline ? EmbeddedWan : pipeline.Defaults;

    /// <summary>The procedural clip evaluator only reads videos of the Wan models trained on procedural clips.</summary>
    public static bool Evaluates(ITextToVideoPipeline pipeline) => pipeline is WanPipeline;

    /// <summary>Loads a folder for a verb that runs on Wan only (<paramref name="why"/> says what it needs); other pipeline classes are refused by name.</summary>
    public static WanPipeline LoadWan(string path, ComputeOptions compute, string verb, string why)
    {
        if (Directory.Exists(path) && IO.PipelineFolder.IsPipeline(path)
            && IO.PipelineFolder.Open(path).ClassName is { } className && className != WanPipelineFolder.PipelineClass)
            throw new VDiTLensException(
                $"{Path.Combine(path, "model_index.json")}: _class_name '{className}': vditlens {verb} runs on WanPipeline folders only " +
                $"({why}); structure, sinks, sparsity, edit and generate run on {string.Join(", ", TextToVideoPipelines.SupportedClasses)}");
        return WanPipeline.Load(path, compute);
    }
}
