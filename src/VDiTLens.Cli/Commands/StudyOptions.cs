using System.CommandLine;
using Spectre.Console;
using VDiTLens.Pipelines;
using VDiTLens.Studies.Structure;

namespace VDiTLens.Cli.Commands;

/// <summary>Generation options shared by the study verbs; sizes left unset come from <see cref="StudyDefaults"/>.</summary>
internal sealed class StudyOptions(string modelHelp = "pipeline folder (WanPipeline, CogVideoXPipeline or MochiPipeline)")
{
    public const string DefaultModel = "models/vditlens-tiny";

    public Option<string> Model { get; } = new("--model") { Description = modelHelp, DefaultValueFactory = _ => DefaultModel };
    public Option<string> Out { get; } = new("--out") { Description = "report folder (index.html + data)", DefaultValueFactory = _ => "out/report" };
    public Option<int?> Steps { get; } = new("--denoising-steps") { Description = $"denoising steps ({StudyDefaults.Help}: 20 / diffusers')" };
    public Option<double?> Guidance { get; } = new("--guidance") { Description = $"classifier-free guidance scale ({StudyDefaults.Help})" };
    public Option<int?> Frames { get; } = new("--frames") { Description = $"frames ({StudyDefaults.Help}: 9)" };
    public Option<int?> Height { get; } = new("--height") { Description = $"height in pixels ({StudyDefaults.Help}: 32)" };
    public Option<int?> Width { get; } = new("--width") { Description = $"width in pixels ({StudyDefaults.Help}: 32)" };
    public Option<int?> MaxLength { get; } = new("--max-sequence-length") { Description = $"prompt tokens ({StudyDefaults.Help}: 16)" };

    /// <summary>The given values, the rest from <paramref name="defaults"/>.</summary>
    public GenerationDefaults Resolve(ParseResult result, GenerationDefaults defaults) => new(
        result.GetValue(Guidance) ?? defaults.GuidanceScale, result.GetValue(Steps) ?? defaults.Steps,
        result.GetValue(Height) ?? defaults.Height, result.GetValue(Width) ?? defaults.Width,
        result.GetValue(Frames) ?? defaults.Frames, result.GetValue(MaxLength) ?? defaults.MaxSequenceLength);

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Model, Out, Steps, Guidance, Frames, Height, Width, MaxLength }) command.Options.Add(o);
    }

    public static string[] Split(string? list) =>
        string.IsNullOrWhiteSpace(list) ? Array.Empty<string>() : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static long[] Longs(string? list, string option) => Split(list).Select(s =>
        long.TryParse(s, out long v) ? v : throw new VDiTLensException($"{option}: '{s}' is not an integer")).ToArray();

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

    /// <summary>Runs <paramref name="work"/> under a Spectre progress display: one bar for cells, one for the denoising steps of the current cell.</summary>
    public static T WithProgress<T>(string what, Func<IProgress<StudyProgress>, T> work)
    {
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var cells = ctx.AddTask(what, maxValue: 1);
                var steps = ctx.AddTask("denoising", maxValue: 1);
                result = work(new Reporter(p =>
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
            });
        return result;
    }

    private sealed class Reporter(Action<StudyProgress> report) : IProgress<StudyProgress>
    {
        public void Report(StudyProgress value) => report(value);
    }
}
