using System.Text.Json.Nodes;
using VDiTLens.Pipelines;
using VDiTLens.Procedural;
using VDiTLens.Runtime;

namespace VDiTLens.Cli.Commands;

/// <summary>
/// What a verb generates when a size is left unset, taken from the model: a folder trained on procedural clips (the
/// embedded model: its <c>training.json</c> says so) gets the procedural clip (the evaluator reads it), a folder trained
/// on multi-object scenes (<c>vditlens-small</c>) the scenes' size and caption rows from its <c>training.json</c>, any
/// other folder its pipeline's own diffusers <c>__call__</c> defaults.
/// </summary>
internal static class StudyDefaults
{
    /// <summary>Guidance 5, 20 steps, the 32 × 32 × 9 procedural clip, 16 prompt tokens.</summary>
    public static readonly GenerationDefaults Procedural = new(5.0, 20, ClipSpec.DefaultHeight, ClipSpec.DefaultWidth, ClipSpec.DefaultFrames, 16);

    public const string Help = "default: the model's (the embedded model: 20 steps, guidance 5, 9 × 32 × 32, 16 tokens; scene-trained models: their scenes' size; others: their pipeline's)";

    public static GenerationDefaults For(ITextToVideoPipeline pipeline, string folder) =>
        pipeline is WanPipeline && TrainedOnScenes(folder) ? Scenes(folder)
        : Evaluates(pipeline, folder) ? Procedural : pipeline.Defaults;

    /// <summary>The single-object clip evaluator reads only videos of Wan models trained on single-object procedural clips.</summary>
    public static bool Evaluates(ITextToVideoPipeline pipeline, string folder) => pipeline is WanPipeline && TrainedOnProceduralClips(folder) && !TrainedOnScenes(folder);

    /// <summary>The scene evaluator reads only videos of Wan models trained on multi-object scenes.</summary>
    public static bool EvaluatesScenes(ITextToVideoPipeline pipeline, string folder) => pipeline is WanPipeline && TrainedOnScenes(folder);

    public static bool TrainedOnProceduralClips(string folder) => Data(folder)?.StartsWith("VDiTLens.Procedural", StringComparison.Ordinal) == true;

    public static bool TrainedOnScenes(string folder) => Data(folder)?.StartsWith("VDiTLens.Procedural.Scenes", StringComparison.Ordinal) == true;

    /// <summary>Guidance 5, 20 steps, the training scenes' frames × height × width and caption rows (the small model's 17 × 48 × 48 and 48 where unrecorded).</summary>
    public static GenerationDefaults Scenes(string folder)
    {
        var options = TrainingRecord(folder)?["options"];
        var scenes = options?["Scenes"];
        int Read(JsonNode? node, string name, int fallback) => node?[name]?.GetValue<int>() ?? fallback;
        return new GenerationDefaults(5.0, 20, Read(scenes, "Height", 48), Read(scenes, "Width", 48), Read(scenes, "Frames", 17), Read(options, "CaptionLength", 48));
    }

    private static string? Data(string folder) => TrainingRecord(folder)?["data"]?.GetValue<string>();

    private static JsonNode? TrainingRecord(string folder)
    {
        string path = Path.Combine(folder, VDiTLens.Training.PipelineWarmStart.TrainingFile);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonNode.Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}
