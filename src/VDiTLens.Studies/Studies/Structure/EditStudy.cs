using System.Text.Json;
using System.Text.Json.Serialization;
using VDiTLens.Models.Common;
using VDiTLens.Pipelines;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.Sparsity;

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

/// <summary>One finished (band, pair, seed) edit: the clip or scene evaluator's measures where it applies (null otherwise) and the generic ones.</summary>
public sealed record EditStudyCell(string Band, int FirstLayer, int LastLayer, int Pair, long Seed, EditMetrics? Metrics, SceneEditMetrics? Scene, EditFidelity Fidelity);

/// <summary>What every shard of an edit study shares: the options, the model (as given, and its id with device and dtype) and its bands.</summary>
public sealed record EditStudySettings(EditStudyOptions Options, string Model, string ModelId, IReadOnlyList<LayerBand> Bands);

/// <summary>
/// Transfers one band of layers at a time for every prompt pair and development seed, then the band chosen on them
/// for every pair and held-out seed (<see cref="EditStudyPlan"/>: two passes), and measures preservation and adherence:
/// the generic <see cref="EditFidelity"/> always, the clip evaluator's <see cref="EditMetrics"/> or the scene
/// evaluator's <see cref="SceneEditMetrics"/> by <see cref="EditStudyOptions.Evaluator"/>. The study is cells in a results folder (<c>&lt;report&gt;/edit-study/run/</c>):
/// one (band, pair, seed) edit each, one batched generation, saved atomically as
/// <c>cells/&lt;band&gt;_pair&lt;i&gt;_seed&lt;s&gt;.json</c> (after its contact sheet, <c>.png</c>); shardable; the report
/// is built from whichever planned cells are there, in band, pair, seed order, so a merged run's tables equal an unsharded run's.
/// The band is chosen and reported by <see cref="EditSelection"/>.
/// </summary>
public static class EditStudy
{
    public const string SettingsFile = "study.json";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string RunFolder(string reportFolder) => Path.Combine(reportFolder, EditStudyReport.Folder, "run");

    public static string CellId(LayerBand band, int pair, long seed) => $"{band.Label}_pair{pair}_seed{seed}";

    /// <summary>The settings of a study of <paramref name="options"/> on <paramref name="pipeline"/> (its bands come from the model's blocks).</summary>
    public static EditStudySettings Settings(ITextToVideoPipeline pipeline, EditStudyOptions options, string model, string modelId)
    {
        options.Validate();
        return new EditStudySettings(options, model, modelId, LayerBand.Of(pipeline.Transformer, options.Band, options.IncludeAll));
    }

    /// <summary>The study's plan (pass 1, then pass 2 by role: <see cref="EditStudyPlan"/>); its cells do not depend on any result.</summary>
    public static StudyPlan Plan(EditStudySettings s) => new EditStudyPlan(s, _ => null).StudyPlan;

    /// <summary>The plan of <paramref name="s"/> reading the cells saved in <paramref name="folder"/>.</summary>
    public static EditStudyPlan PlanIn(StudyFolder folder, EditStudySettings s) => new(s, id => folder.LoadJson<EditStudyCell>(id));

    /// <summary>Opens the results folder for <paramref name="s"/> (refusing one made with other settings) and records the settings and plan.</summary>
    public static StudyFolder Open(string runFolder, EditStudySettings s)
    {
        s.Options.Validate();
        string json = JsonSerializer.Serialize(s, CellStore.Json);
        var folder = StudyFolder.Open(runFolder, new Dictionary<string, string> { ["edit-study"] = json });
        AtomicFile.WriteAllText(Path.Combine(runFolder, SettingsFile), json);
        Plan(s).Save(runFolder);
        return folder;
    }

    public static EditStudySettings LoadSettings(string runFolder)
    {
        string path = Path.Combine(runFolder, SettingsFile);
        if (!File.Exists(path)) throw new VDiTLensException($"{path}: no edit study here (no shard has started)");
        return JsonSerializer.Deserialize<EditStudySettings>(File.ReadAllText(path), CellStore.Json)!;
    }

    /// <summary>
    /// Computes the shard's cells that are not saved yet and whose pass-1 cells are (a pass-2 cell waits for every
    /// pass-1 cell, whichever shard computes it; an unsharded run does both passes in order).
    /// </summary>
    public static ShardOutcome RunShard(StudyFolder folder, ITextToVideoPipeline pipeline, EditStudySettings s, Shard shard,
        IProgress<StudyProgress>? progress = null, int? maxNewCells = null, CancellationToken cancellation = default)
    {
        var plan = PlanIn(folder, s);
        return ShardRunner.Run(plan.StudyPlan, shard, c => plan.IsDone(plan.Cell(c.Id)), (planned, i, n) =>
        {
            var cell = plan.Cell(planned.Id);
            var (band, id) = plan.Resolve(cell)!.Value;
            var pair = s.Options.Pairs[cell.Pair];
            string description = cell.Development ? planned.Description : $"pass 2: band {band.Label} (chosen) pair {cell.Pair} held-out seed {cell.Seed}";
            var cellProgress = progress is null ? null : new Forward(g => progress.Report(new StudyProgress(description, i, n, g)));
            using var videos = AttentionEdit.Run(pipeline, s.Options.EditFor(pair, band.Sites, cell.Seed), cellProgress, cancellation);
            var evaluator = s.Options.Evaluator;
            var result = new EditStudyCell(band.Label, band.FirstLayer, band.LastLayer, cell.Pair, cell.Seed,
                evaluator == EditEvaluator.Clips ? EditMetrics.Measure(videos, pair.Source, pair.Target) : null,
                evaluator == EditEvaluator.Scenes ? SceneEditMetrics.Measure(videos, pair.Source, pair.Target, s.Options.TolerancePixels) : null,
                EditFidelity.Measure(videos));
            EditReport.WriteSheet(videos, folder.CellPath(id, ".png"));
            folder.SaveJson(id, result);
        }, maxNewCells, cancellation, c => plan.IsReady(plan.Cell(c.Id)));
    }

    /// <summary>The saved cells in band, pair, seed order, and the planned cells not saved yet.</summary>
    public static (EditStudySettings Settings, IReadOnlyList<EditStudyCell> Cells, int Total, IReadOnlyList<PlannedCell> Missing) Collect(string runFolder)
    {
        var s = LoadSettings(runFolder);
        var folder = StudyFolder.Open(runFolder, new Dictionary<string, string> { ["edit-study"] = JsonSerializer.Serialize(s, CellStore.Json) });
        var plan = PlanIn(folder, s);
        return (s, plan.Saved(), plan.Cells.Count, plan.Missing());
    }

    private sealed class Forward(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
