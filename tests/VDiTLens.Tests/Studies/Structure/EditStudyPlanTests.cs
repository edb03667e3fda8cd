using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.Structure;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Studies.Structure;

/// <summary>
/// The edit study's second pass computes the band chosen on the saved development cells, on the held-out seeds only:
/// rewriting those cells moves it, whatever the held-out seeds would say.
/// </summary>
public sealed class EditStudyPlanTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("vditlens-edit-plan-").FullName;
    private static string Model => Path.Combine(Directory.GetParent(Fixtures.Root)!.Parent!.FullName, "models", "vditlens-tiny");

    private static readonly EditStudyOptions Options = new()
    {
        Pairs = new[] { new EditPair("a red circle moving right", "a blue circle moving right", "colour") },
        DevSeeds = new long[] { 0 }, TestSeeds = new long[] { 1, 2 }, Evaluator = EditEvaluator.None,
        Steps = 1, Frames = 5, Height = 32, Width = 32,
    };

    private static EditStudyCell Cell(string band, int layer, long seed, double msSsim) =>
        new(band, layer, layer, 0, seed, null, null, new EditFidelity(20, msSsim, 20, 0.5, 15, 0.3));

    [Fact]
    public void A_held_out_role_resolves_only_once_every_development_cell_is_saved()
    {
        var bands = new[] { "L0", "L1", "L2" }.Select((b, i) => new LayerBand(b, i, i, new[] { $"blocks.{i}.attn1" })).ToList();
        var settings = new EditStudySettings(Options, "m", "m|cpu|float32", bands);
        var saved = new Dictionary<string, EditStudyCell>();
        var plan = new EditStudyPlan(settings, id => saved.GetValueOrDefault(id));
        Assert.Equal(3 + 2, plan.Cells.Count);
        var role = plan.Cell(EditStudyPlan.RoleId(0, 1));
        Assert.Null(plan.Resolve(role));

        saved["L0_pair0_seed0"] = Cell("L0", 0, 0, 0.2);
        saved["L1_pair0_seed0"] = Cell("L1", 1, 0, 0.7);
        Assert.Null(plan.TryChoose()); // L2's cell is missing: no choice from part of the development cells
        Assert.False(plan.IsReady(role));
        saved["L2_pair0_seed0"] = Cell("L2", 2, 0, 0.5);
        Assert.True(plan.IsReady(role));
        Assert.Equal(("L1", "L1_pair0_seed1"), (plan.Resolve(role)!.Value.Band.Label, plan.Resolve(role)!.Value.CellId));
        Assert.False(plan.IsDone(role));

        // a held-out cell of another band on disk is not part of the study
        saved["L0_pair0_seed1"] = Cell("L0", 0, 1, 0.99);
        Assert.Equal(new[] { "chosen_pair0_seed1", "chosen_pair0_seed2" }, plan.Missing().Select(c => c.Id));
        Assert.DoesNotContain(plan.Saved(), c => c.Seed == 1);
        saved["L1_pair0_seed1"] = Cell("L1", 1, 1, 0.1);
        Assert.True(plan.IsDone(role));
        Assert.Equal(new[] { ("L0", 0L), ("L1", 0L), ("L1", 1L), ("L2", 0L) }, plan.Saved().Select(c => (c.Band, c.Seed)));
    }

    [Theory]
    [InlineData("L2")]
    [InlineData("all")]
    public void Pass_two_computes_the_band_the_saved_development_cells_choose(string favoured)
    {
        TorchRuntime.Initialise();
        using var pipeline = WanPipeline.Load(Model, ComputeOptions.Cpu32);
        var settings = EditStudy.Settings(pipeline, Options, "tiny", "tiny|cpu|float32");
        string run = EditStudy.RunFolder(Path.Combine(_root, favoured));
        var folder = EditStudy.Open(run, settings);
        int development = settings.Bands.Count; // 1 pair × 1 dev seed
        Assert.Equal(development, EditStudy.RunShard(folder, pipeline, settings, Shard.All, maxNewCells: development).Computed);
        Assert.Equal(2, EditStudy.Collect(run).Missing.Count); // pass 1 done, pass 2 not started

        // rewrite the development results so that the favoured band wins
        foreach (var band in settings.Bands)
        {
            string id = EditStudy.CellId(band, 0, 0);
            var cell = folder.LoadJson<EditStudyCell>(id)!;
            folder.SaveJson(id, cell with { Fidelity = cell.Fidelity with { EditedToSourceMsSsim = band.Label == favoured ? 0.9 : 0.1 } });
        }
        Assert.Equal(2, EditStudy.RunShard(folder, pipeline, settings, Shard.All).Computed);

        var heldOut = Directory.GetFiles(folder.Cells, "*.json").Select(Path.GetFileNameWithoutExtension).Where(f => !f!.EndsWith("_seed0", StringComparison.Ordinal));
        Assert.Equal(new[] { $"{favoured}_pair0_seed1", $"{favoured}_pair0_seed2" }, heldOut.Order(StringComparer.Ordinal));
        var collected = EditStudy.Collect(run);
        Assert.Empty(collected.Missing);
        Assert.Equal(favoured, EditSelection.Of(collected.Cells, Options).Test!.Band);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); }
        catch (IOException) { }
    }
}
