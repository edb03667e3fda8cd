using System.Globalization;
using System.Text.Json;
using VDiTLens.Attention;
using VDiTLens.Interventions;
using VDiTLens.Pipelines;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.Sinks.Statistics;
using VDiTLens.Studies.Sparsity;

namespace VDiTLens.Studies.Sinks;

/// <summary>
/// What every shard of a sink study shares: what merging needs (the model's name, prompts, seeds, criteria, arms) and,
/// as comparable strings, everything else that changes a cell's result (<see cref="Measurement"/>, <see cref="Generation"/>).
/// </summary>
public sealed record SinkSettings(string Model, string ModelId, IReadOnlyList<string> Prompts, IReadOnlyList<long> Seeds, SinkCriteria Criteria,
    IReadOnlyList<SinkAblationMode> AblationModes, IReadOnlyList<double> Taus, string? Sparsify, int Steps, int ForwardsPerGeneration,
    string Measurement, string Generation)
{
    public static SinkSettings Of(SinkStudyOptions o, string model, string modelId)
    {
        var t = o.Template;
        return new SinkSettings(model, modelId, o.Prompts, o.Seeds, o.Criteria, o.AblationModes, o.Taus, o.Sparsify, t.Steps,
            t.Steps * (t.GuidanceScale > 1 ? 2 : 1),
            string.Join("|", Describe(o.Sites), Describe(o.TauScope), Describe(o.SparsifyScope), o.CharacteriseStep, o.MemoryBudgetBytes, o.ControlSeed,
                JsonSerializer.Serialize(o.Specs, CellStore.Json)),
            GenerationSettings.Describe(t));
    }

    public void Validate()
    {
        if (Prompts.Count == 0) throw new VDiTLensException("Prompts: the sink study needs at least one prompt");
        if (Seeds.Count == 0) throw new VDiTLensException("Seeds: the sink study needs at least one seed");
        if (Seeds.Distinct().Count() != Seeds.Count) throw new VDiTLensException($"Seeds {string.Join(",", Seeds)}: a seed is given twice");
        Criteria.Validate();
    }

    private static string Describe(AttentionSelector a) => string.Join(";", string.Join(",", a.Sites), Intervals(a.Layers), Intervals(a.Steps),
        string.Join(",", a.Branches), string.Join(",", a.Heads));

    private static string Intervals(IndexSet s) => s.IsAll ? "all" : string.Join(",", s.Intervals.Select(i => $"{i.Min}-{i.Max}"));
}

/// <summary>
/// The sink study as cells in a results folder (<c>&lt;report&gt;/sinks/run/</c>), one generation each: a baseline per
/// (prompt, seed), measured; the text-key clusters; the characterisation of run 0; every ablation arm and every
/// temperature condition per (prompt, seed). Arms and the characterisation need their baseline's cell (their
/// <see cref="PlannedCell.After"/>); a shard leaves them waiting until it is there. The report is built from whichever
/// cells are there, in run order, so a merged run's tables equal an unsharded run's.
/// </summary>
public static class SinkRun
{
    public const string SettingsFile = "study.json";
    public const string TextKeysId = "text_keys", CharacteriseId = "characterise";

    private enum Kind { Baseline, TextKeys, Characterise, Ablation, Temperature }

    private sealed record Cell(PlannedCell Planned, Kind Kind, int Run = 0, AblationArm? Ablation = null, TemperatureArm? Temperature = null);

    /// <summary>The text-key clusters of one (prompt, site).</summary>
    public sealed record TextCluster(string Prompt, string Site, int[] Keys);

    public static string RunFolder(string reportFolder) => Path.Combine(reportFolder, "sinks", "run");

    public static string BaselineId(SinkSettings s, int run) => $"baseline_{RunTag(s, run)}";

    private static string RunTag(SinkSettings s, int run) => $"p{run / s.Seeds.Count}_seed{s.Seeds[run % s.Seeds.Count]}";

    private static string RunName(SinkSettings s, int run) => $"prompt {run / s.Seeds.Count} seed {s.Seeds[run % s.Seeds.Count]}";

    private static int Runs(SinkSettings s) => s.Prompts.Count * s.Seeds.Count;

    private static IReadOnlyList<Cell> Cells(SinkSettings s)
    {
        var cells = new List<Cell>();
        for (int r = 0; r < Runs(s); r++)
            cells.Add(new Cell(new PlannedCell(BaselineId(s, r), $"baseline {RunName(s, r)} (measured)", 1, Array.Empty<string>()), Kind.Baseline, r));
        // One short generation per prompt (a couple of steps) reads the text keys.
        cells.Add(new Cell(new PlannedCell(TextKeysId, "text-key clusters", s.Prompts.Count * Math.Min(2.0, s.Steps) / s.Steps, Array.Empty<string>()), Kind.TextKeys));
        cells.Add(new Cell(new PlannedCell(CharacteriseId, "characterisation of run 0 (k/v norms, residual stream)", 1, new[] { BaselineId(s, 0) }), Kind.Characterise));
        foreach (var arm in SinkArms.Ablations(s.AblationModes))
            for (int r = 0; r < Runs(s); r++)
                cells.Add(new Cell(new PlannedCell($"ablation_{arm.Id}_{RunTag(s, r)}", $"ablation {arm.Name}, {RunName(s, r)}", 1, new[] { BaselineId(s, r) }),
                    Kind.Ablation, r, Ablation: arm));
        foreach (var arm in SinkArms.Temperatures(s.Taus, s.Sparsify).Where(a => !a.IsBaseline))
            for (int r = 0; r < Runs(s); r++)
                cells.Add(new Cell(new PlannedCell($"temperature_{arm.Id}_{RunTag(s, r)}", $"{arm.NameWith(s.Sparsify)}, {RunName(s, r)}", 1, new[] { BaselineId(s, r) }),
                    Kind.Temperature, r, Temperature: arm));
        return cells;
    }

    public static StudyPlan Plan(SinkSettings s) => new("sinks", Cells(s).Select(c => c.Planned).ToList(), s.ForwardsPerGeneration, DenseGenerations: 0);

    /// <summary>Opens the results folder for <paramref name="s"/> (refusing one made with other settings) and records the settings and plan.</summary>
    public static StudyFolder Open(string runFolder, SinkSettings s)
    {
        s.Validate();
        string json = JsonSerializer.Serialize(s, CellStore.Json);
        var folder = StudyFolder.Open(runFolder, new Dictionary<string, string> { ["sinks"] = json });
        AtomicFile.WriteAllText(Path.Combine(runFolder, SettingsFile), json);
        Plan(s).Save(runFolder);
        return folder;
    }

    public static SinkSettings LoadSettings(string runFolder)
    {
        string path = Path.Combine(runFolder, SettingsFile);
        if (!File.Exists(path)) throw new VDiTLensException($"{path}: no sink study here (no shard has started)");
        return JsonSerializer.Deserialize<SinkSettings>(File.ReadAllText(path), CellStore.Json)!;
    }

    private static bool IsDone(StudyFolder folder, PlannedCell cell) => cell.Id.StartsWith("baseline_", StringComparison.Ordinal)
        ? SinkBaselineFile.IsSaved(BaselinePath(folder, cell.Id))
        : folder.LoadJson<System.Text.Json.Nodes.JsonNode>(cell.Id) is not null;

    private static string BaselinePath(StudyFolder folder, string id) => folder.CellPath(id, ".safetensors");

    /// <summary>
    /// Computes the shard's cells that are not saved yet and whose baseline is; <paramref name="options"/> must be those
    /// <paramref name="s"/> was made from.
    /// </summary>
    public static ShardOutcome RunShard(StudyFolder folder, ITextToVideoPipeline pipeline, SinkStudyOptions options, SinkSettings s, Shard shard,
        IProgress<SinkStudyProgress>? progress = null, int? maxNewCells = null, CancellationToken cancellation = default)
    {
        var cells = Cells(s).ToDictionary(c => c.Planned.Id);
        bool Done(PlannedCell c) => IsDone(folder, c);
        return ShardRunner.Run(Plan(s), shard, Done, (planned, i, n) =>
        {
            progress?.Report(new SinkStudyProgress("cells", i, n));
            Compute(folder, pipeline, options, s, cells[planned.Id]);
        }, maxNewCells, cancellation, isReady: c => c.After.All(a => Done(cells[a].Planned)));
    }

    private static void Compute(StudyFolder folder, ITextToVideoPipeline pipeline, SinkStudyOptions options, SinkSettings s, Cell cell)
    {
        switch (cell.Kind)
        {
            case Kind.Baseline:
            {
                int prompt = SinkArms.PromptOf(options, cell.Run);
                using var run = ProbedGeneration.Run(pipeline, SinkArms.RequestFor(options, prompt, s.Seeds[cell.Run % s.Seeds.Count]), cell.Run, options.Sites,
                    memoryBudgetBytes: options.MemoryBudgetBytes);
                var sinks = SinkAnalysis.OfRun(run, pipeline.Sites, s.Criteria);
                var measure = SinkArms.Temperatures(s.Taus, s.Sparsify).Count > 0 ? SinkArms.Measure(pipeline.Sites, options, run, run, sinks) : null;
                SinkBaselineFile.Save(BaselinePath(folder, cell.Planned.Id), run, pipeline.Sites, sinks, measure);
                break;
            }
            case Kind.TextKeys:
                folder.SaveJson(TextKeysId, TextKeyClusters.Find(pipeline, options.Template, options.Prompts)
                    .Select(kv => new TextCluster(kv.Key.Prompt, kv.Key.Site, kv.Value)).ToList());
                break;
            case Kind.Characterise:
            {
                using var baseline = SinkBaselineFile.Load(BaselinePath(folder, BaselineId(s, cell.Run)), attention: true);
                var detection = new SinkDetection(Array.Empty<SiteSinks>(), baseline.Sinks, Array.Empty<SiteSinks>(), Array.Empty<SitePersistence>());
                folder.SaveJson(CharacteriseId, new SinkStudy(pipeline, options).Characterise(baseline.Run, detection));
                break;
            }
            case Kind.Ablation:
            {
                using var baseline = SinkBaselineFile.Load(BaselinePath(folder, BaselineId(s, cell.Run)), attention: false);
                folder.SaveJson(cell.Planned.Id, SinkArms.Ablate(pipeline, options, baseline.Run, baseline.Sinks, cell.Ablation!));
                break;
            }
            case Kind.Temperature:
            {
                using var baseline = SinkBaselineFile.Load(BaselinePath(folder, BaselineId(s, cell.Run)), attention: false);
                folder.SaveJson(cell.Planned.Id, SinkArms.Temper(pipeline, options, baseline.Run, baseline.Sinks, cell.Temperature!));
                break;
            }
        }
    }

    /// <summary>The study's findings from the saved cells (runs whose baseline is saved, in run order), and the planned cells not saved yet.</summary>
    public static SinkOutcome Collect(string runFolder)
    {
        var s = LoadSettings(runFolder);
        var folder = StudyFolder.Open(runFolder, new Dictionary<string, string> { ["sinks"] = JsonSerializer.Serialize(s, CellStore.Json) });
        var cells = Cells(s);
        var plan = Plan(s);
        var missing = ShardRunner.Missing(plan, c => IsDone(folder, c));
        var saved = new List<SavedBaseline>();
        try
        {
            for (int r = 0; r < Runs(s); r++)
                if (SinkBaselineFile.IsSaved(BaselinePath(folder, BaselineId(s, r))))
                    saved.Add(SinkBaselineFile.Load(BaselinePath(folder, BaselineId(s, r)), attention: true));
            if (saved.Count == 0) throw new VDiTLensException($"{runFolder}: no baseline generation is saved yet; run the shards first");
            var baselines = saved.Select(b => b.Run).ToList();
            var sites = saved[0].Sites;
            var detection = SinkAnalysis.Analyse(baselines, sites, s.Criteria);
            var samples = new List<SinkSample>();
            ProbedRunInfo Info(ProbedRun run) => new(run.Run, run.Run / s.Seeds.Count, run.Prompt, run.Seed);

            var ablations = new List<OutputSummary>();
            int headKeys = SinkAblationStudy.Count(detection.PerRun.Where(x => x.Run == baselines[0].Run));
            foreach (var arm in SinkArms.Ablations(s.AblationModes))
            {
                var runs = ArmCells(folder, cells, c => c.Ablation == arm, baselines);
                if (runs.Count == 0) continue;
                samples.AddRange(runs.Select(x => SinkArms.Sample(arm.Name, Info(x.Run), x.Measure)));
                ablations.Add(SinkArms.Summary(arm, headKeys, runs.Select(x => x.Measure).ToList()));
            }
            var temperatures = new List<TemperaturePoint>();
            foreach (var arm in SinkArms.Temperatures(s.Taus, s.Sparsify))
            {
                var runs = arm.IsBaseline
                    ? saved.Select(b => (b.Run, Measure: b.BaselineMeasure!)).ToList()
                    : ArmCells(folder, cells, c => c.Temperature == arm, baselines);
                if (runs.Count == 0) continue;
                samples.AddRange(runs.Select(x => SinkArms.Sample(arm.NameWith(s.Sparsify), Info(x.Run), x.Measure)));
                temperatures.Add(SinkArms.Point(arm, s.Sparsify, runs.Select(x => x.Measure).ToList()));
            }
            var clusters = (folder.LoadJson<List<TextCluster>>(TextKeysId) ?? new List<TextCluster>()).ToDictionary(c => (c.Prompt, c.Site), c => c.Keys);
            var findings = new SinkFindings(s.Model, sites, s.Criteria, baselines, detection, folder.LoadJson<SinkCharacterisation>(CharacteriseId),
                ablations, temperatures, samples, clusters);
            return new SinkOutcome(s, findings, plan.Cells.Count, missing);
        }
        catch
        {
            foreach (var b in saved) b.Dispose();
            throw;
        }
    }

    /// <summary>The saved cells of one arm, in run order, with the baseline run each belongs to.</summary>
    private static List<(ProbedRun Run, ArmMeasure Measure)> ArmCells(StudyFolder folder, IReadOnlyList<Cell> cells, Func<Cell, bool> ofArm, IReadOnlyList<ProbedRun> baselines)
    {
        var byRun = baselines.ToDictionary(b => b.Run);
        var result = new List<(ProbedRun, ArmMeasure)>();
        foreach (var cell in cells.Where(ofArm).OrderBy(c => c.Run))
            if (byRun.TryGetValue(cell.Run, out var run) && folder.LoadJson<ArmMeasure>(cell.Planned.Id) is { } measure)
                result.Add((run, measure));
        return result;
    }
}

/// <summary>A sink study's measured parts, from one process or from a results folder's cells; disposing releases the baselines.</summary>
/// <param name="Characterisation">null when its cell is not saved yet.</param>
public sealed record SinkFindings(string Model, IReadOnlyList<AttentionSite> Sites, SinkCriteria Criteria,
    IReadOnlyList<ProbedRun> Baselines, SinkDetection Detection, SinkCharacterisation? Characterisation, IReadOnlyList<OutputSummary> Ablations,
    IReadOnlyList<TemperaturePoint> Temperatures, IReadOnlyList<SinkSample> Samples, IReadOnlyDictionary<(string Prompt, string Site), int[]> TextClusters) : IDisposable
{
    public void Dispose()
    {
        foreach (var b in Baselines) b.Dispose();
    }
}

/// <summary>A sink study assembled from its cells; <see cref="Missing"/> are the planned cells not saved yet.</summary>
public sealed record SinkOutcome(SinkSettings Settings, SinkFindings Findings, int Total, IReadOnlyList<PlannedCell> Missing) : IDisposable
{
    public void Dispose() => Findings.Dispose();
}
