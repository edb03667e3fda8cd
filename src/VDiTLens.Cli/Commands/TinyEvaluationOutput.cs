using System.Text.Json;
using Spectre.Console;
using TorchSharp;
using VDiTLens.Reports;
using VDiTLens.Runtime;
using VDiTLens.Training;
using static TorchSharp.torch;

namespace VDiTLens.Cli.Commands;

/// <summary>Runs the tiny model's evaluation sets and prints/writes their accuracies (shared by train-tiny and eval-tiny).</summary>
internal static class TinyEvaluationOutput
{
    public static IReadOnlyList<EvaluationReport> Run(string model, ComputeOptions options, int perCombination, int seen, int steps,
        double guidance, int batch, int textLength, string? jsonPath, string? sheetPath)
    {
        using var sampler = new TinySampler(model, options) { TextLength = textLength };
        var heldOutClips = new List<Tensor>();
        var reports = new List<EvaluationReport>
        {
            TinyEvaluation.Run("held-out", sampler, TinyEvaluation.HeldOut(perCombination), steps, guidance, batch, heldOutClips),
        };
        if (seen > 0) reports.Add(TinyEvaluation.Run("seen", sampler, TinyEvaluation.Seen(seen), steps, guidance, batch));

        var table = new Table().AddColumns("set", "prompts", "colour", "shape", "direction", "all three", "seconds");
        foreach (var r in reports)
            table.AddRow(r.Set, r.Count.ToString(), Percent(r.ColourAccuracy), Percent(r.ShapeAccuracy), Percent(r.DirectionAccuracy),
                Percent(r.AllAccuracy), r.Seconds.ToString("F1"));
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"{steps} steps, guidance {guidance}, batches of {batch} prompts on {options.Device} ({ComputeOptions.NameOf(options.DType)})");

        if (sheetPath is not null && heldOutClips.Count > 0)
        {
            ClipPictures.WriteContactSheet(heldOutClips, sheetPath, scale: 2);
            AnsiConsole.WriteLine($"wrote {sheetPath}");
        }
        foreach (var c in heldOutClips) c.Dispose();
        if (jsonPath is not null)
        {
            var json = reports.Select(r => new
            {
                set = r.Set, prompts = r.Count, steps = r.Steps, guidance = r.Guidance, seconds = r.Seconds,
                device = options.Device.ToString(), colour = r.ColourAccuracy, shape = r.ShapeAccuracy, direction = r.DirectionAccuracy, all = r.AllAccuracy,
                clips = r.Clips.Select(c => new { prompt = c.Example.Caption, seed = c.Seed, judged = c.Judgement.Describe(), colour = c.ColourCorrect, shape = c.ShapeCorrect, direction = c.DirectionCorrect }),
            });
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
            AnsiConsole.WriteLine($"wrote {jsonPath}");
        }
        return reports;
    }

    private static string Percent(double x) => $"{100 * x:F1} %";
}
