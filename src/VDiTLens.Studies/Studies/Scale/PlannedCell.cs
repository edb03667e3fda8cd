namespace VDiTLens.Studies.Scale;

/// <summary>
/// One cell of a study's plan with its estimated cost in generations (1 = one plain generation) and, for cells that
/// need other cells' results first, those cells.
/// </summary>
public sealed record PlannedCell(string Id, string Description, double Cost, IReadOnlyList<string> After);

/// <summary>
/// A study's plan as written into its results folder (<c>plan.json</c>): every cell in table order, the generation
/// request's transformer forwards per generation, and the shard count it was cut into. Merging reads it to know which
/// cells are missing.
/// </summary>
/// <param name="DenseCost">Cost of each dense generation in plain generations (it may carry probes).</param>
public sealed record StudyPlan(string Study, IReadOnlyList<PlannedCell> Cells, int ForwardsPerGeneration, int DenseGenerations, double DenseCost = 1)
{
    public const string FileName = "plan.json";

    public double TotalCost => Cells.Sum(c => c.Cost) + DenseGenerations * DenseCost;

    public IReadOnlyDictionary<string, int> Owners(int shards) => ShardAssignment.Assign(Cells.Select(c => (c.Id, c.Cost)), shards);

    public IReadOnlyList<PlannedCell> Of(Shard shard)
    {
        var owners = Owners(shard.Count);
        return Cells.Where(c => owners[c.Id] == shard.Index).ToArray();
    }

    public void Save(string folder) =>
        Sparsity.AtomicFile.WriteAllText(Path.Combine(folder, FileName), System.Text.Json.JsonSerializer.Serialize(this, Sparsity.CellStore.Json));

    public static StudyPlan? TryLoad(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<StudyPlan>(File.ReadAllText(path), Sparsity.CellStore.Json);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new VDiTLensException($"{path}: unreadable plan ({e.Message}); run any shard again to rewrite it");
        }
    }
}
