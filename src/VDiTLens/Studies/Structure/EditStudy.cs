using System.Text.Json;
using System.Text.Json.Serialization;
using VDiTLens.Models.Common;
using VDiTLens.Pipelines;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// A band of consecutive blocks (or every block: label "all") and the sites of their attention among the video tokens
/// (<see cref="BlockAttention"/>: self-attention in Wan, joint text-video attention in the other families).
/// </summary>
public sealed record LayerBand(string Label, int FirstLayer, int LastLayer, IReadOnlyList<string> Sites)
{
    /// <summary>Bands of <paramref name="size"/> blocks over the model's blocks, then "all" if asked.</summary>
    public static IReadOnlyList<LayerBand> Of(IVideoTransformer model, int size, bool includeAll)
    {
        var blocks = BlockAttention.All(model);
        if (blocks.Count == 0) throw new VDiTLensException("the model has no self- or joint-attention sites in its blocks to transfer");
        var bands = blocks.Chunk(size).Select(chunk => new LayerBand(
            chunk.Length == 1 ? $"L{chunk[0].Block}" : $"L{chunk[0].Block}-{chunk[^1].Block}", chunk[0].Block, chunk[^1].Block,
            chunk.Select(b => b.Site.Name).ToList())).ToList();
        if (includeAll && bands.Count > 1) bands.Add(new LayerBand("all", blocks[0].Block, blocks[^1].Block, blocks.Select(b => b.Site.Name).ToList()));
        return bands;
    }
}

/// <summary>One finished (band, pair) edit: the evaluator's measures where it applies (null otherwise) and the generic ones.</summary>
public sealed record EditStudyCell(string Band, int FirstLayer, int LastLayer, int Pair, EditMetrics? Metrics, EditFidelity Fidelity);

/// <summary>
/// Transfers one band of layers at a time for every prompt pair and measures preservation and adherence: the generic
/// <see cref="EditFidelity"/> always, the procedural evaluator's <see cref="EditMetrics"/> when
/// <see cref="EditStudyOptions.Evaluate"/> (models trained on procedural clips only). Every finished
/// cell is written at once to <c>&lt;folder&gt;/cells/&lt;band&gt;_pair&lt;i&gt;.json</c> (with a contact sheet) and
/// <paramref name="onCell"/> is called with all cells so far; a rerun with the same options loads finished cells.
/// </summary>
public static class EditStudy
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private sealed record CellFile(string Fingerprint, string Source, string Target, EditStudyCell Cell);

    public static IReadOnlyList<EditStudyCell> Run(ITextToVideoPipeline pipeline, EditStudyOptions options, string folder, string model,
        Action<IReadOnlyList<EditStudyCell>>? onCell = null, IProgress<StudyProgress>? progress = null, CancellationToken cancellation = default)
    {
        options.Validate();
        var bands = LayerBand.Of(pipeline.Transformer, options.Band, options.IncludeAll);
        string fingerprint = options.Fingerprint(model);
        string cells = Path.Combine(folder, "cells");
        Directory.CreateDirectory(cells);
        var done = new List<EditStudyCell>();
        int total = bands.Count * options.Pairs.Count, index = 0;
        foreach (var band in bands)
            for (int p = 0; p < options.Pairs.Count; p++, index++)
            {
                var pair = options.Pairs[p];
                string file = Path.Combine(cells, $"{band.Label}_pair{p}.json");
                if (TryLoad(file, fingerprint, pair) is { } saved)
                {
                    done.Add(saved);
                    continue;
                }
                int cellIndex = index;
                var edit = options.EditFor(pair, band.Sites);
                var cellProgress = progress is null ? null
                    : new Forward(g => progress.Report(new StudyProgress($"{band.Label} pair {p}", cellIndex, total, g)));
                using var videos = AttentionEdit.Run(pipeline, edit, cellProgress, cancellation);
                var cell = new EditStudyCell(band.Label, band.FirstLayer, band.LastLayer, p,
                    options.Evaluate ? EditMetrics.Measure(videos, pair.Source, pair.Target) : null, EditFidelity.Measure(videos));
                EditReport.WriteSheet(videos, Path.Combine(cells, $"{band.Label}_pair{p}.png"));
                string tmp = file + ".tmp";
                File.WriteAllText(tmp, JsonSerializer.Serialize(new CellFile(fingerprint, pair.Source, pair.Target, cell), Json));
                File.Move(tmp, file, overwrite: true);
                done.Add(cell);
                onCell?.Invoke(done);
            }
        onCell?.Invoke(done);
        return done;
    }

    private static EditStudyCell? TryLoad(string file, string fingerprint, EditPair pair)
    {
        if (!File.Exists(file)) return null;
        try
        {
            var saved = JsonSerializer.Deserialize<CellFile>(File.ReadAllText(file), Json);
            return saved is not null && saved.Fingerprint == fingerprint && saved.Source == pair.Source && saved.Target == pair.Target
                   && saved.Cell.Fidelity is not null ? saved.Cell : null; // cells from before the generic measures: recompute
        }
        catch (JsonException)
        {
            return null; // unreadable (e.g. from an older version): recompute
        }
    }

    private sealed class Forward(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
