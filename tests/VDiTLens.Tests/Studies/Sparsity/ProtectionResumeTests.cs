using VDiTLens.Statistics;
using VDiTLens.Studies.Sparsity;

namespace VDiTLens.Tests.Studies.Sparsity;

/// <summary>The held-out study stopped after some cells and started again ends with the tables of an uninterrupted run.</summary>
public sealed class ProtectionResumeTests : IDisposable
{
    private readonly SweepFixture _fixture = new();
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("vditlens-protection-resume-");

    private static readonly ProtectionOptions Options = new()
    {
        Levels = new[] { 0.5 }, DevSeeds = new long[] { 0 }, TestSeeds = new long[] { 1, 2 }, KeepDense = 1, RandomDraws = 2,
        ValidateProxy = true, ProxySamples = 1, CalibrationQueryStride = 2, Bootstrap = new Bootstrap(Resamples: 200),
    };

    private ProtectionCells Cells(string name) => ProtectionCells.Open(Path.Combine(_folder.FullName, name), "fixture", SweepFixture.Request, Options.Method);

    private static string[] Tables(ProtectionResult result)
    {
        var summary = ProtectionSummary.Of(result.Samples, result.Options.Bootstrap);
        return new[] { ProtectionReport.SamplesCsv(result.Samples), ProtectionReport.SummaryCsv(summary), ProtectionReport.RankingCsv(result.Dev) };
    }

    [Fact]
    public void A_run_stopped_after_some_cells_and_resumed_writes_the_tables_of_an_uninterrupted_run()
    {
        var whole = new ProtectionStudy(_fixture.Pipeline, SweepFixture.Request, Options, Cells("whole"));
        var uninterrupted = whole.Run()!;
        int total = whole.CellsComputed;
        Assert.Equal(0, whole.CellsReused);
        SharedGenerationsAreMadeOnce(uninterrupted);

        var cells = Cells("resumed");
        var first = new ProtectionStudy(_fixture.Pipeline, SweepFixture.Request, Options, cells);
        Assert.Null(first.Run(maxNewCells: 3)); // stopped inside the development phase
        Assert.Equal(3, first.CellsComputed);
        var second = new ProtectionStudy(_fixture.Pipeline, SweepFixture.Request, Options, cells);
        Assert.Null(second.Run(maxNewCells: 7)); // the last development cell, then stopped inside the held-out phase
        Assert.Equal((3, 7), (second.CellsReused, second.CellsComputed));
        var third = new ProtectionStudy(_fixture.Pipeline, SweepFixture.Request, Options, cells);
        var resumed = third.Run()!;
        Assert.Equal(total, first.CellsComputed + second.CellsComputed + third.CellsComputed); // no cell computed twice
        Assert.Equal(Tables(uninterrupted), Tables(resumed));

        var again = new ProtectionStudy(_fixture.Pipeline, SweepFixture.Request, Options, cells);
        Assert.Equal(Tables(uninterrupted), Tables(again.Run()!));
        Assert.Equal((0, 0), (again.CellsComputed, again.Generations));
    }

    /// <summary>
    /// 2 layers, K = 1: each random draw keeps one of the 2 layers dense, as the sensitive or the least-sensitive arm
    /// does, and reads that arm's generation instead of making its own.
    /// </summary>
    private static void SharedGenerationsAreMadeOnce(ProtectionResult result)
    {
        // dev: the dense run and 2 single-layer runs; per held-out seed: dense, noise floor, all masked, the 2 one-layer-dense runs, random keys, τ
        Assert.Equal(3 + 2 * 7, result.Generations);
        foreach (var seed in Options.TestSeeds)
            foreach (var draw in new[] { "random_dense_0", "random_dense_1" })
            {
                var rows = result.Samples.Where(s => s.Arm == draw && s.Seed == seed).ToArray();
                var same = result.Samples.Where(s => s.Seed == seed && s.DenseLayers == rows[0].DenseLayers
                    && (s.Arm == ProtectionArms.SensitiveDense || s.Arm == ProtectionArms.LeastSensitiveDense)).ToArray();
                Assert.Equal(rows.Select(r => r.LatentRelativeL2), same.Select(r => r.LatentRelativeL2));
            }
    }

    public void Dispose()
    {
        _fixture.Dispose();
        _folder.Delete(recursive: true);
    }
}
