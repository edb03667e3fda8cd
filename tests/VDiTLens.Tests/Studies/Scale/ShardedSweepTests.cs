using VDiTLens.Reports;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.Sparsity;
using VDiTLens.Tests.Studies.Sparsity;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Studies.Scale;

/// <summary>
/// Shards of one sweep in one folder compute every cell exactly once between them, and merging gives byte-identical
/// tables to the unsharded run.
/// </summary>
public sealed class ShardedSweepTests(SweepFixture fixture, ITestOutputHelper output) : IClassFixture<SweepFixture>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("vditlens-shards-").FullName;

    private static readonly SweepOptions Options = new()
    {
        Levels = new[] { 0.3, 0.7 },
        Modes = new[] { SweepMode.Single, SweepMode.Uniform },
        KeepDense = new[] { 0, 1 },
    };

    // 2 levels × 2 layers single-layer cells + uniform (K ∈ {0, 1}) × 2 levels
    private const int Cells = 4 + 4;

    private string Run(string name) => Path.Combine(_root, name, SparsityReport.Folder, "run");

    [Fact]
    public void Three_shards_compute_each_cell_once_and_merge_to_the_unsharded_tables()
    {
        var whole = new SparsitySweep(Run("whole"), fixture.Generator(), Options).Run();
        Assert.True(whole.Complete);
        SparsityReport.Write(new HtmlReport(Path.Combine(_root, "whole")), whole);

        int generations = 0, waiting = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < 3; i++)
            {
                var generator = fixture.Generator();
                var outcome = new SparsitySweep(Run("sharded"), generator, Options with { Shard = new Shard(i, 3) }).Run();
                output.WriteLine($"pass {pass} shard {i}/3: computed {outcome.Computed}, waiting {outcome.Waiting}, generations {generator.Generations}");
                generations += outcome.Computed;
                if (pass == 0) waiting += outcome.Waiting;
            }
        Assert.Equal(Cells, generations);
        Assert.True(waiting > 0, "uniform cells with a dense layer wait for the single-layer cells of the other shards");

        var again = fixture.Generator();
        Assert.Equal(0, new SparsitySweep(Run("sharded"), again, Options with { Shard = new Shard(1, 3) }).Run().Computed);
        Assert.Equal(0, again.Generations); // a finished shard does nothing (the dense reference is on disk)

        var merged = SparsitySweep.Collect(Run("sharded"), out var missing);
        Assert.Empty(missing);
        SparsityReport.Write(new HtmlReport(Path.Combine(_root, "sharded")), merged);
        foreach (var table in new[] { "sweep.csv", "profile.csv" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(_root, "whole", SparsityReport.Folder, table)),
                File.ReadAllBytes(Path.Combine(_root, "sharded", SparsityReport.Folder, table)));
        Assert.Empty(Directory.GetFiles(Path.Combine(Run("sharded"), "cells"), "*.tmp-*"));
    }

    [Fact]
    public void Merge_of_a_partial_sweep_names_the_missing_cells()
    {
        new SparsitySweep(Run("partial"), fixture.Generator(), Options with { Shard = new Shard(0, 2) }).Run();
        var merged = SparsitySweep.Collect(Run("partial"), out var missing);
        Assert.False(merged.Complete);
        Assert.Equal(Cells, merged.Results.Count + missing.Count);
        Assert.NotEmpty(missing);
        var plan = StudyPlan.TryLoad(Run("partial"))!;
        var mine = plan.Of(new Shard(0, 2)).Select(c => c.Id).ToHashSet();
        Assert.All(merged.Results, r => Assert.Contains(r.Cell.Id, mine));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); }
        catch (IOException) { }
    }
}
