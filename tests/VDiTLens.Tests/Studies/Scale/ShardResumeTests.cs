using VDiTLens.Pipelines;
using VDiTLens.Reports;
using VDiTLens.Runtime;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.Structure;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Studies.Scale;

/// <summary>
/// A shard killed in the middle of a cell leaves no part of that cell; run again, it computes exactly the cells that
/// were not saved, and the report equals that of an uninterrupted run.
/// </summary>
public sealed class ShardResumeTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("vditlens-resume-").FullName;
    private static string Model => Path.Combine(Directory.GetParent(Fixtures.Root)!.Parent!.FullName, "models", "vditlens-tiny");

    private sealed class Killed : Exception;

    /// <summary>
    /// Throws after the first denoising step of the cell whose progress index is <paramref name="cell"/> (structure: the
    /// seed's index, shard 0/2 has seeds 0 and 2; edit study: the index among the shard's cells), as a kill would stop it.
    /// </summary>
    private sealed class KillAt(int cell) : IProgress<StudyProgress>
    {
        public void Report(StudyProgress p)
        {
            if (p.CellIndex == cell && p.Steps.Completed >= 1) throw new Killed();
        }
    }

    [Fact]
    public void Structure_shard_killed_mid_cell_resumes_without_duplicate_or_missing_cells()
    {
        TorchRuntime.Initialise();
        using var pipeline = WanPipeline.Load(Model, ComputeOptions.Cpu32);
        var settings = new StructureSettings(new StructureOptions
        {
            Prompts = new[] { "a red circle moving right", "a blue square moving left" }, Seeds = new long[] { 0, 1, 2, 3 },
            Steps = 2, Guidance = 5, Frames = 5, Height = 32, Width = 32,
        }, "tiny", "tiny|cpu|float32");
        var shard = new Shard(0, 2);
        var mine = StructureStudy.Plan(settings).Of(shard);
        Assert.Equal(2, mine.Count);

        string interrupted = StructureStudy.RunFolder(Path.Combine(_root, "interrupted"));
        var folder = StructureStudy.Open(interrupted, settings);
        Assert.Throws<Killed>(() => StructureStudy.RunShard(folder, settings, shard, _ => pipeline, new KillAt(cell: 2)));
        Assert.Single(Directory.GetFiles(folder.Cells)); // the first cell whole, nothing of the second (no temporary file either)

        var resumed = StructureStudy.RunShard(folder, settings, shard, _ => pipeline);
        Assert.Equal((1, 1), (resumed.Computed, resumed.AlreadyDone));
        Assert.Equal(0, StructureStudy.RunShard(folder, settings, shard, _ => pipeline).Computed);
        StructureStudy.RunShard(folder, settings, new Shard(1, 2), _ => pipeline);
        Assert.Equal(4, Directory.GetFiles(folder.Cells).Length);

        string whole = StructureStudy.RunFolder(Path.Combine(_root, "whole"));
        StructureStudy.RunShard(StructureStudy.Open(whole, settings), settings, Shard.All, _ => pipeline);
        Assert.Empty(StructureStudy.Report(new HtmlReport(Path.Combine(_root, "interrupted")), interrupted).Missing);
        StructureStudy.Report(new HtmlReport(Path.Combine(_root, "whole")), whole);
        Assert.Equal(File.ReadAllText(Path.Combine(_root, "whole", "structure", "summary.csv")), File.ReadAllText(Path.Combine(_root, "interrupted", "structure", "summary.csv")));
    }

    [Fact]
    public void Edit_study_in_three_shards_with_a_killed_one_and_a_second_pass_equals_one_process()
    {
        TorchRuntime.Initialise();
        using var pipeline = WanPipeline.Load(Model, ComputeOptions.Cpu32);
        var options = new EditStudyOptions
        {
            Pairs = new[] { new EditPair("a red circle moving right", "a blue circle moving right", "colour") },
            Steps = 2, Frames = 5, Height = 32, Width = 32,
        };
        var settings = EditStudy.Settings(pipeline, options, "tiny", "tiny|cpu|float32");
        var plan = EditStudy.Plan(settings);
        // pass 1: L0, L1, L2, L3 and all × dev seed 0; pass 2: the chosen band × held-out seeds 1, 2, after every pass-1 cell
        var development = plan.Cells.Take(5).Select(c => c.Id).ToArray();
        Assert.Equal(new[] { "L0", "L1", "L2", "L3", "all" }.Select(b => $"{b}_pair0_seed0"), development);
        Assert.Equal(new[] { "chosen_pair0_seed1", "chosen_pair0_seed2" }, plan.Cells.Skip(5).Select(c => c.Id));
        Assert.All(plan.Cells.Skip(5), c => Assert.Equal(development, c.After));

        // the shard to kill: one with two pass-1 cells, killed in the middle of its second
        var shards = Enumerable.Range(0, 3).Select(i => new Shard(i, 3)).ToArray();
        var killed = shards.First(s => plan.Of(s).Count(c => c.After.Count == 0) >= 2);
        var mine = plan.Of(killed);
        int second = mine.Select((c, i) => (c, i)).Where(x => x.c.After.Count == 0).ElementAt(1).i;

        string interrupted = EditStudy.RunFolder(Path.Combine(_root, "interrupted"));
        var folder = EditStudy.Open(interrupted, settings);
        Assert.Throws<Killed>(() => EditStudy.RunShard(folder, pipeline, settings, killed, new KillAt(cell: second)));
        Assert.Single(Directory.GetFiles(folder.Cells, "*.json")); // the first cell whole, nothing of the second
        Assert.Empty(Directory.GetFiles(folder.Cells, "*tmp*"));

        int computed = 1, waiting = 0;
        for (int pass = 0; pass < 2; pass++)
            foreach (var shard in shards)
            {
                var outcome = EditStudy.RunShard(folder, pipeline, settings, shard);
                if (pass == 0 && shard == killed) Assert.Equal(1, outcome.AlreadyDone); // the killed run's saved cell, not computed again
                computed += outcome.Computed;
                if (pass == 0) waiting += outcome.Waiting;
            }
        Assert.True(waiting > 0, "pass-2 cells waited for pass-1 cells of other shards");
        Assert.Equal(7, computed); // every cell once
        Assert.All(shards, s => Assert.Equal(0, EditStudy.RunShard(folder, pipeline, settings, s).Computed));

        // on disk: every band on the dev seed, only the chosen band on the held-out seeds
        var collected = EditStudy.Collect(interrupted);
        Assert.Empty(collected.Missing);
        string chosen = EditSelection.Of(collected.Cells, options).Chosen!;
        var files = Directory.GetFiles(folder.Cells, "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal);
        Assert.Equal(development.Concat(new[] { $"{chosen}_pair0_seed1", $"{chosen}_pair0_seed2" }).Order(StringComparer.Ordinal), files);

        string whole = EditStudy.RunFolder(Path.Combine(_root, "whole"));
        Assert.Equal(7, EditStudy.RunShard(EditStudy.Open(whole, settings), pipeline, settings, Shard.All).Computed); // both passes in one process
        foreach (var (root, run) in new[] { ("interrupted", interrupted), ("whole", whole) })
            EditStudyReport.Write(new HtmlReport(Path.Combine(_root, root)), options, EditStudy.Collect(run).Cells, "tiny");
        foreach (var file in new[] { "summary.csv", "summary.json", "samples.csv", "heldout.csv" })
            Assert.Equal(File.ReadAllText(Path.Combine(_root, "whole", "edit-study", file)), File.ReadAllText(Path.Combine(_root, "interrupted", "edit-study", file)));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); }
        catch (IOException) { }
    }
}
