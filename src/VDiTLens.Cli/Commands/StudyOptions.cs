using System.CommandLine;
using VDiTLens.Cli.Options;
using VDiTLens.Cli.Progress;
using VDiTLens.Pipelines;
using VDiTLens.Studies.Structure;
using Spectre.Console;
using Tensor = TorchSharp.torch.Tensor;

namespace VDiTLens.Cli.Commands;

/// <summary>
/// The generation options every generating verb takes, each with one meaning everywhere (diffusers' spellings are
/// aliases). Sizes left unset come from the model (<see cref="StudyDefaults.For"/>); the model left unset is the
/// embedded one, wherever the program runs from (<see cref="ModelLocator"/>).
/// </summary>
internal sealed class StudyOptions(string modelHelp = "pipeline folder (WanPipeline, CogVideoXPipeline or MochiPipeline)", string outDefault = "out/report")
{
    public Option<string?> Model { get; } = new("--model") { Description = $"{modelHelp}; default: the embedded model (or ${ModelLocator.EnvironmentVariable})" };
    public Option<string> Out { get; } = new("--out") { Description = "report folder (index.html + data)", DefaultValueFactory = _ => outDefault };
    public Option<int?> Steps { get; } = new("--steps", "--num-inference-steps", "--denoising-steps") { Description = $"denoising steps ({StudyDefaults.Help})" };
    public Option<double?> Guidance { get; } = new("--guidance", "--guidance-scale") { Description = $"classifier-free guidance scale ({StudyDefaults.Help})" };
    public Option<int?> Frames { get; } = new("--frames", "--num-frames") { Description = $"frames ({StudyDefaults.Help})" };
    public Option<int?> Height { get; } = new("--height") { Description = $"height in pixels ({StudyDefaults.Help})" };
    public Option<int?> Width { get; } = new("--width") { Description = $"width in pixels ({StudyDefaults.Help})" };
    public Option<int?> MaxLength { get; } = new("--max-sequence-length") { Description = $"prompt tokens ({StudyDefaults.Help})" };
    public Option<string?> Image { get; } = new("--image") { Description = "image-to-video (WanImageToVideoPipeline folders, where it is required, and Wan2.2 TI2V): safetensors file with the first frame under key 'image', [1, 3, height, width] in [0, 1], used for every prompt" };

    /// <summary>The folder given with --model, else the embedded model's.</summary>
    public string ModelPath(ParseResult result) => ModelLocator.Resolve(result.GetValue(Model));

    /// <summary>The given values, the rest from <paramref name="defaults"/>.</summary>
    public GenerationDefaults Resolve(ParseResult result, GenerationDefaults defaults) => new(
        result.GetValue(Guidance) ?? defaults.GuidanceScale, result.GetValue(Steps) ?? defaults.Steps,
        result.GetValue(Height) ?? defaults.Height, result.GetValue(Width) ?? defaults.Width,
        result.GetValue(Frames) ?? defaults.Frames, result.GetValue(MaxLength) ?? defaults.MaxSequenceLength);

    /// <summary>A request with the resolved sizes, steps and guidance and the --image (prompts and seed are the caller's).</summary>
    public GenerationRequest Request(ParseResult result, GenerationDefaults defaults)
    {
        var d = Resolve(result, defaults);
        return new GenerationRequest
        {
            Steps = d.Steps, GuidanceScale = d.GuidanceScale, Frames = d.Frames, Height = d.Height, Width = d.Width,
            MaxSequenceLength = d.MaxSequenceLength, Image = FirstFrame(result),
        };
    }

    /// <summary>The first frame given with --image (key 'image' of a safetensors file), else null.</summary>
    public Tensor? FirstFrame(ParseResult result) => result.GetValue(Image) is { } file ? TensorFile.Load(file, "image", "--image") : null;

    public void AddTo(Command command, bool withOut = true, bool withImage = true)
    {
        foreach (var o in new Option[] { Model, Steps, Guidance, Frames, Height, Width, MaxLength }) command.Options.Add(o);
        if (withImage) command.Options.Add(Image);
        if (withOut) command.Options.Add(Out);
    }

    public static string[] Split(string? list) =>
        string.IsNullOrWhiteSpace(list) ? Array.Empty<string>() : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>"a..b", "a.." , "..b" or "a" → inclusive bounds.</summary>
    public static (int? Min, int? Max) Range(string? text, string option)
    {
        if (string.IsNullOrWhiteSpace(text)) return (null, null);
        int? Parse(string s) => s.Length == 0 ? null : int.TryParse(s, out int v) ? v : throw new VDiTLensException($"{option} {text}: '{s}' is not an integer (use a..b)");
        int dots = text.IndexOf("..", StringComparison.Ordinal);
        if (dots < 0) return (Parse(text.Trim()), Parse(text.Trim()));
        var range = (Parse(text[..dots].Trim()), Parse(text[(dots + 2)..].Trim()));
        if (range.Item1 > range.Item2) throw new VDiTLensException($"{option} {text}: the range is empty");
        return range;
    }

    /// <summary>Runs <paramref name="work"/> under the progress display: one bar for cells, one for the denoising steps of the current cell.</summary>
    public static T WithProgress<T>(string what, Func<IProgress<StudyProgress>, T> work) => ProgressDisplay.Run(ctx =>
    {
        var cells = ctx.AddTask(what, maxValue: 1);
        var steps = ctx.AddTask("denoising", maxValue: 1);
        var result = work(new SynchronousProgress<StudyProgress>(p =>
        {
            cells.MaxValue = p.CellCount;
            cells.Value = p.CellIndex + (p.Steps.Total == 0 ? 0 : (double)p.Steps.Completed / p.Steps.Total);
            cells.Description = Markup.Escape($"{what}: {p.Cell} ({p.CellIndex + 1}/{p.CellCount})");
            steps.MaxValue = Math.Max(1, p.Steps.Total);
            steps.Value = p.Steps.Completed;
            steps.Description = Markup.Escape($"step {p.Steps.Completed}/{p.Steps.Total}, ETA {p.Steps.EstimatedRemaining:mm\\:ss}");
        }));
        cells.Value = cells.MaxValue;
        steps.Value = steps.MaxValue;
        return result;
    });
}
