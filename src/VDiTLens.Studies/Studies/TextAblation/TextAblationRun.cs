using System.Text.Json;
using VDiTLens.Pipelines;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.Sparsity;

namespace VDiTLens.Studies.TextAblation;

/// <summary>What every shard of a text-ablation study shares: the options, the model id and the generation settings.</summary>
/// <param name="Generation">the requests' <see cref="GenerationSettings.Describe"/>.</param>
public sealed record TextAblationSettings(TextAblationOptions Options, string ModelId, string Generation);

/// <summary>
/// The text-ablation study as cells in a results folder (<c>&lt;report&gt;/text-ablation/run/</c>): one cell per
/// (prompt, seed), three generations, its two rows saved as one JSON file; the table is built from whichever cells are
/// there, in prompt then seed order.
/// </summary>
public static class TextAblationRun
{
    public const string SettingsFile = "study.json";

    public static string RunFolder(string reportFolder) => Path.Combine(reportFolder, TextAblationStudy.Folder, "run");

    public static string CellId(int prompt, long seed) => $"prompt{prompt}_seed{seed}";

    public static StudyPlan Plan(TextAblationSettings s, int forwardsPerGeneration) => new("text-ablation",
        Enumerable.Range(0, s.Options.Prompts.Count).SelectMany(p => s.Options.Seeds.Select(seed =>
            new PlannedCell(CellId(p, seed), $"prompt {p} seed {seed}", 3, Array.Empty<string>()))).ToList(),
        forwardsPerGeneration, DenseGenerations: 0);

    public static StudyFolder Open(string runFolder, TextAblationSettings s, int forwardsPerGeneration)
    {
        s.Options.Validate();
        string json = JsonSerializer.Serialize(s, CellStore.Json);
        var folder = StudyFolder.Open(runFolder, new Dictionary<string, string> { ["text-ablation"] = json });
        AtomicFile.WriteAllText(Path.Combine(runFolder, SettingsFile), json);
        Plan(s, forwardsPerGeneration).Save(runFolder);
        return folder;
    }

    public static ShardOutcome RunShard(StudyFolder folder, ITextToVideoPipeline pipeline, GenerationRequest template, TextAblationSettings s, Shard shard,
        IProgress<(int Done, int Total)>? progress = null, int? maxNewCells = null)
    {
        var plan = StudyPlan.TryLoad(folder.Folder)!;
        return ShardRunner.Run(plan, shard, c => folder.LoadJson<TextAblationRow[]>(c.Id) is not null, (cell, i, n) =>
        {
            var (p, seed) = Parse(s, cell);
            progress?.Report((i, n));
            folder.SaveJson(cell.Id, TextAblationStudy.Cell(pipeline, template, s.Options, p, seed).ToArray());
        }, maxNewCells);
    }

    /// <summary>The rows of every saved cell in plan order, and the planned cells not saved yet.</summary>
    public static (IReadOnlyList<TextAblationRow> Rows, int Total, IReadOnlyList<PlannedCell> Missing) Collect(string runFolder)
    {
        string path = Path.Combine(runFolder, SettingsFile);
        if (!File.Exists(path)) throw new VDiTLensException($"{path}: no text-ablation study here (no shard has started)");
        var s = JsonSerializer.Deserialize<TextAblationSettings>(File.ReadAllText(path), CellStore.Json)!;
        var folder = StudyFolder.Open(runFolder, new Dictionary<string, string> { ["text-ablation"] = JsonSerializer.Serialize(s, CellStore.Json) });
        var plan = StudyPlan.TryLoad(runFolder) ?? throw new VDiTLensException($"{runFolder}: no plan.json");
        var rows = plan.Cells.Select(c => folder.LoadJson<TextAblationRow[]>(c.Id)).Where(r => r is not null).SelectMany(r => r!).ToList();
        return (rows, plan.Cells.Count, ShardRunner.Missing(plan, c => folder.LoadJson<TextAblationRow[]>(c.Id) is not null));
    }

    private static (int Prompt, long Seed) Parse(TextAblationSettings s, PlannedCell cell) =>
        Enumerable.Range(0, s.Options.Prompts.Count).SelectMany(p => s.Options.Seeds.Select(seed => (p, seed))).First(x => CellId(x.p, x.seed) == cell.Id);
}
