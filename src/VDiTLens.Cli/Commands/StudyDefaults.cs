using System.Text.Json.Nodes;
using VDiTLens.Pipelines;
using VDiTLens.Procedural;
using VDiTLens.Runtime;

namespace VDiTLens.Cli.Commands;

/// <summary>
/// What a verb generates when a size is left unset, taken from the model: a folder trained on procedural clips (the
/// embedded model: its <c>training.json</c> says so) gets the procedural clip (the evaluator reads it), any other
/// folder its pipeline's own diffusers <c>__call__</c> defaults.
/// </summary>
internal static class StudyDefaults
{
    /// <summary>Guidance 5, 20 steps, the 32 × 32 × 9 procedural clip, 16 prompt tokens.</summary>
    public static readonly GenerationDefaults Procedural = new(5.0, 20, ClipSpec.DefaultHeight, ClipSpec.DefaultWidth, ClipSpec.DefaultFrames, 16);

    public const string Help = "default: the model's (the embedded model: 20 steps, guidance 5, 9 × 32 × 32, 16 tokens; others: their pipeline's)";

    public static GenerationDefaults For(ITextToVideoPipeline pipeline, string folder) => Evaluates(pipeline, folder) ? Procedural : pipeline.Defaults;

    /// <summary>The procedural clip evaluator reads only videos of Wan models trained on procedural clips.</summary>
    public static bool Evaluates(ITextToVideoPipeline pipeline, string folder) => pipeline is WanPipeline && TrainedOnProceduralClips(folder);

    public static bool TrainedOnProceduralClips(string folder)
    {
        string path = Path.Combine(folder, Training.PipelineWarmStart.TrainingFile);
        if (!File.Exists(path)) return false;
        try
        {
            return JsonNode.Parse(File.ReadAllText(path))?["data"]?.GetValue<string>()?.StartsWith("VDiTLens.Procedural", StringComparison.Ordinal) == true;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return false;
        }
    }
}
