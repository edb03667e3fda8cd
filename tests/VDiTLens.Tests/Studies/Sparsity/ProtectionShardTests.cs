using VDiTLens.Pipelines;
using VDiTLens.Statistics;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.Sparsity;

namespace VDiTLens.Tests.Studies.Sparsity;

/// <summary>
/// The held-out study as shards on the random 2-layer pipeline: three shards, one killed in the middle of a generation
/// and run again, then a second pass for the arms whose development cells another shard computed, write exactly the
/// tables of the study run in one process, with no cell computed twice or missing.
/// </summary>
public sealed class ProtectionShardTests : IDisposable
{
    private readonly SweepFixture _fixture = new();
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("vditlens-protection-shards-");

    private static readonly ProtectionOptions Options = new()
    {
        Levels = new[] { 0.5 }, DevSeeds = new long[] { 0 }, TestSeeds = new long[] { 1, 2 }, KeepDense = 1, RandomDraws = 1,
        ValidateProxy = true, ProxySamples = 1, CalibrationQueryStride = 2, Bootstrap = new Bootstrap(Resamples: 200),
    };

    private sealed class Killed : Exception;

    /// <summary>Throws when the second generation it sees has finished its first step, as a kill in the middle of a cell would stop it.</summary>
    private sealed class KillInSecondGeneration : IProgress<GenerationProgress>
    {
        private int _firstSteps;

        public void Report(GenerationProgress p)
        {
            if (p.Completed == 1 && ++_firstSteps == 2) throw new Killed();
        }
    }

    private ProtectionCells Cells(string name) => ProtectionCells.Open(Path.Combine(_folder.FullName, name), "fixture", SweepFixture.Request, Options.Method);

    private ProtectionStudy Study(ProtectionCells cells, GenerationRequest? request = null) => new(_fixture.Pipeline, request ?? SweepFixture.Request, Options, cells);

    private static string[] Tables(ProtectionResult result)
    {
        var summary = ProtectionSummary.Of(result.Samples, result.Options.Bootstrap);
        return new[] { ProtectionReport.SamplesCsv(result.Samples), ProtectionReport.SummaryCsv(summary), ProtectionReport.RankingCsv(result.Dev) };
    }

    [Fact]
    public void Three_shards_with_a_killed_one_and_a_second_pass_give_the_tables_of_one_process()
    {
        var whole = Study(Cells("whole"));
        var reference = whole.Run()!;

        var cells = Cells("sharded");
        var killed = Study(cells, SweepFixture.Request with { Progress = new KillInSecondGeneration() });
        Assert.Throws<Killed>(() => killed.RunShard(new Shard(0, 3)));
        Assert.Equal(1, killed.CellsComputed); // the first cell saved whole, nothing of the second
        Assert.Empty(Directory.GetFiles(Path.Combine(cells.Folder, "cells"), "*.tmp-*"));

        int computed = killed.CellsComputed, waiting = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < 3; i++)
            {
                var study = Study(cells);
                var outcome = study.RunShard(new Shard(i, 3));
                if (pass == 0 && i == 0) Assert.Equal(1, study.CellsReused); // the killed run's saved cell, not computed again
                computed += study.CellsComputed;
                if (pass == 0) waiting += outcome.Waiting;
            }
        Assert.True(waiting > 0, "arms waited for development cells of another shard");
        Assert.Equal(whole.CellsComputed, computed); // every cell once (arms that make the same generation share it, as in one process)
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(0, Study(cells).RunShard(new Shard(i, 3)).Computed));

        // merged without a model, from the folder alone
        var merged = ProtectionCells.Existing(cells.Folder);
        var plan = new ProtectionPlan(merged.LoadSettings(), merged);
        Assert.Empty(plan.Missing());
        var result = plan.Collect()!;
        Assert.Equal(Tables(reference), Tables(result));
        Assert.Equal(reference.Generations, result.Generations);
        string a = Path.Combine(_folder.FullName, "report-whole"), b = Path.Combine(_folder.FullName, "report-sharded");
        ProtectionReport.Write(a, reference, ProtectionSummary.Of(reference.Samples, Options.Bootstrap));
        ProtectionReport.Write(b, result, ProtectionSummary.Of(result.Samples, Options.Bootstrap));
        foreach (var file in new[] { "protection_samples.csv", "protection_summary.csv", "protection_ranking.csv", "protection.json" })
            Assert.Equal(File.ReadAllText(Path.Combine(a, SparsityReport.Folder, file)), File.ReadAllText(Path.Combine(b, SparsityReport.Folder, file)));
    }

    [Fact]
    public void A_shard_with_other_options_is_refused_and_a_whole_run_replaces_them()
    {
        var cells = Cells("options");
        Study(cells).RunShard(new Shard(0, 2), maxNewCells: 1);
        var other = new ProtectionStudy(_fixture.Pipeline, SweepFixture.Request, Options with { RandomDraws = 2 }, cells);
        var e = Assert.Throws<VDiTLensException>(() => other.RunShard(new Shard(1, 2)));
        Assert.Contains("study.json", e.Message);
        Assert.Equal(1, other.RunShard(Shard.All, maxNewCells: 1).Computed);
    }

    public void Dispose()
    {
        _fixture.Dispose();
        _folder.Delete(recursive: true);
    }
}
