using System.Text.Json;
using VDiTLens.Pipelines;
using VDiTLens.Reports;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.Sparsity;

namespace VDiTLens.Studies.Structure;

/// <summary>What every shard of a structure study shares: the options and the models (ids include device and dtype).</summary>
/// <param name="Model">The model as given (the report names it).</param>
/// <param name="NullSeed">Set when the compared model is the random-init null of <paramref name="Model"/> (<see cref="RandomInitNull"/>) with this seed.</param>
public sealed record StructureSettings(StructureOptions Options, string Model, string ModelId, string? CompareModel = null, string? CompareModelId = null,
    long? NullSeed = null)
{
    /// <summary>Settings that compare <paramref name="model"/> with its random-init null.</summary>
    public static StructureSettings WithNull(StructureOptions options, string model, string modelId, long seed) =>
        new(options, model, modelId, RandomInitNull.Describe(model, seed), $"random-init:{seed}|{modelId}", seed);

    public IReadOnlyList<string> Labels => CompareModel is null ? new[] { StructureStudy.MapsLabel } : new[] { StructureStudy.MapsLabel, StructureStudy.CompareLabel };

    public string IdOf(string label) => label == StructureStudy.CompareLabel ? CompareModelId! : ModelId;
}

/// <summary>
/// The structure study as cells in a results folder (<c>&lt;report&gt;/structure/run/</c>): one cell per (model, seed),
/// shardable; the report is built from whichever cells are there, in the options' seed order, so a merged run's tables
/// equal an unsharded run's.
/// </summary>
public static class StructureStudy
{
    public const string MapsLabel = "maps";
    public const string CompareLabel = "compare";
    public const string SettingsFile = "study.json";

    public static string RunFolder(string reportFolder) => Path.Combine(reportFolder, StructureReport.Folder, "run");

    public static StudyPlan Plan(StructureSettings s) => new("structure",
        s.Labels.SelectMany(label => s.Options.Seeds.Select(seed =>
            new PlannedCell(StructureCollector.CellId(label, seed), $"{label} seed {seed}", 1, Array.Empty<string>()))).ToList(),
        s.Options.Steps * (s.Options.Guidance > 1 ? 2 : 1), DenseGenerations: 0);

    /// <summary>Opens the results folder for <paramref name="s"/> (refusing one made with other settings) and records the settings and plan.</summary>
    public static StudyFolder Open(string runFolder, StructureSettings s)
    {
        s.Options.Validate();
        string json = JsonSerializer.Serialize(s, CellStore.Json);
        var folder = StudyFolder.Open(runFolder, new Dictionary<string, string> { ["structure"] = json });
        AtomicFile.WriteAllText(Path.Combine(runFolder, SettingsFile), json);
        Plan(s).Save(runFolder);
        return folder;
    }

    public static bool IsDone(StudyFolder folder, StructureSettings s, PlannedCell cell)
    {
        var (label, seed) = Parse(s, cell);
        return StructureCollector.Has(folder.Cells, label, seed, s.Options, s.IdOf(label));
    }

    /// <summary>Computes the shard's cells that are not saved yet; <paramref name="pipelineFor"/> gives the pipeline of a label (loaded when first asked).</summary>
    public static ShardOutcome RunShard(StudyFolder folder, StructureSettings s, Shard shard, Func<string, ITextToVideoPipeline> pipelineFor,
        IProgress<StudyProgress>? progress = null, int? maxNewCells = null, CancellationToken cancellation = default) =>
        ShardRunner.Run(Plan(s), shard, c => IsDone(folder, s, c), (cell, _, _) =>
        {
            var (label, seed) = Parse(s, cell);
            StructureCollector.Compute(pipelineFor(label), s.Options, s.IdOf(label), folder.Cells, label, s.Options.Seeds.ToList().IndexOf(seed), progress, cancellation);
        }, maxNewCells, cancellation);

    public static StructureSettings LoadSettings(string runFolder)
    {
        string path = Path.Combine(runFolder, SettingsFile);
        if (!File.Exists(path)) throw new VDiTLensException($"{path}: no structure study here (no shard has started)");
        return JsonSerializer.Deserialize<StructureSettings>(File.ReadAllText(path), CellStore.Json)!;
    }

    /// <summary>The study's maps and analysis from the saved cells: seeds saved for every model, in the options' order.</summary>
    public static StructureOutcome Collect(string runFolder)
    {
        var s = LoadSettings(runFolder);
        var folder = StudyFolder.Open(runFolder, new Dictionary<string, string> { ["structure"] = JsonSerializer.Serialize(s, CellStore.Json) });
        var plan = Plan(s);
        var missing = ShardRunner.Missing(plan, c => IsDone(folder, s, c));
        var seeds = s.Options.Seeds.Where(seed => s.Labels.All(l => StructureCollector.Has(folder.Cells, l, seed, s.Options, s.IdOf(l)))).ToArray();
        if (seeds.Length == 0) throw new VDiTLensException($"{runFolder}: no seed has its maps saved for every model yet; run the shards first");
        var options = s.Options with { Seeds = seeds };
        var maps = StructureCollector.Assemble(options, s.ModelId, folder.Cells, MapsLabel, out _);
        var other = s.CompareModel is null ? null : StructureCollector.Assemble(options, s.CompareModelId!, folder.Cells, CompareLabel, out _);
        var results = options.Kinds.ToDictionary(k => k, k => StructureAnalysis.Analyse(maps[k], other?[k]));
        var otherResults = other is null ? null : options.Kinds.ToDictionary(k => k, k => StructureAnalysis.Analyse(other[k]));
        return new StructureOutcome(s with { Options = options }, maps, other, results, otherResults, plan.Cells.Count, missing);
    }

    /// <summary>Writes the report of whatever cells are saved; returns the outcome (its missing cells included).</summary>
    public static StructureOutcome Report(HtmlReport report, string runFolder)
    {
        var outcome = Collect(runFolder);
        StructureReport.Write(report, outcome.Settings.Options, outcome.Maps, outcome.Results, outcome.Settings.Model, outcome.Settings.CompareModel,
            outcome.CompareResults, outcome.Other is null ? null : StructureContrast.Rows(outcome.Maps, outcome.Other));
        AtomicFile.WriteAllText(report.Asset($"{StructureReport.Folder}/samples.csv"), StructureSamples.Csv(outcome.Settings.Options, outcome.Maps, outcome.Other));
        return outcome;
    }

    private static (string Label, long Seed) Parse(StructureSettings s, PlannedCell cell) =>
        s.Labels.SelectMany(l => s.Options.Seeds.Select(seed => (l, seed))).First(x => StructureCollector.CellId(x.l, x.seed) == cell.Id);
}

/// <summary>
/// A structure study assembled from its cells; <see cref="Missing"/> are the planned cells not saved yet.
/// <see cref="CompareResults"/>: the compared model's (or null's) own similarities across prompts, seeds and steps.
/// </summary>
public sealed record StructureOutcome(StructureSettings Settings, IReadOnlyDictionary<string, StructureMaps> Maps, IReadOnlyDictionary<string, StructureMaps>? Other,
    IReadOnlyDictionary<string, IReadOnlyList<SiteStructure>> Results, IReadOnlyDictionary<string, IReadOnlyList<SiteStructure>>? CompareResults,
    int Total, IReadOnlyList<PlannedCell> Missing);
