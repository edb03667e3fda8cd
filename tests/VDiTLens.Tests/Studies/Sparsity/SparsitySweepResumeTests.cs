using VDiTLens.Studies.Sparsity;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Studies.Sparsity;

/// <summary>Cells are saved as they finish; a restarted sweep recomputes nothing saved and ends with the same table.</summary>
public sealed class SparsitySweepResumeTests(SweepFixture fixture, ITestOutputHelper output) : IClassFixture<SweepFixture>, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "vditlens-sweep-" + Guid.NewGuid().ToString("N"));

    private static readonly SweepOptions Options = new()
    {
        Levels = new[] { 0.3, 0.7 },
        Modes = new[] { SweepMode.Single, SweepMode.LeaveOneOut, SweepMode.Uniform },
        KeepDense = new[] { 0, 1 },
    };

    // 1 method × 2 levels × (single + leave-one-out) × 2 layers + uniform (K ∈ {0, 1}) × 2 levels
    private const int Cells = 8 + 4;

    private string Dir(string name) => Path.Combine(_root, name);

    [Fact]
    public void Interrupted_and_resumed_sweep_computes_each_cell_once_and_matches_an_uninterrupted_one()
    {
        var straight = fixture.Generator();
        var full = new SparsitySweep(Dir("a"), straight, Options).Run();
        Assert.True(full.Complete);
        Assert.Equal(Cells + 1, straight.Generations); // + the dense reference

        var again = fixture.Generator();
        var rerun = new SparsitySweep(Dir("a"), again, Options).Run();
        Assert.Equal(0, again.Generations);
        Assert.Equal(SweepTable.Csv(full), SweepTable.Csv(rerun));

        var first = fixture.Generator();
        var partial = new SparsitySweep(Dir("b"), first, Options with { MaxNewCells = 5 }).Run();
        Assert.False(partial.Complete);
        Assert.Equal((5, 6), (partial.Results.Count, first.Generations));
        // a kill leaves at most a stray temporary file; it must not count as a cell
        File.WriteAllText(Path.Combine(Dir("b"), "cells", partial.Results[0].Cell.Id + ".json.tmp-1-x"), "{\"Cell\":");

        var second = fixture.Generator();
        var resumed = new SparsitySweep(Dir("b"), second, Options).Run();
        output.WriteLine(SweepTable.Csv(resumed));
        Assert.True(resumed.Complete);
        Assert.Equal(Cells - 5, second.Generations); // dense reference loaded from disk, 5 cells skipped
        Assert.False(resumed.DenseGenerated);
        Assert.Equal(SweepTable.Csv(full), SweepTable.Csv(resumed));
    }

    [Fact]
    public void Cancellation_mid_sweep_keeps_every_finished_cell()
    {
        using var cancel = new CancellationTokenSource();
        var first = fixture.Generator();
        first.CancelAfterSource = cancel;
        first.CancelAfter = 4; // dense + 3 cells, then the token fires before the 4th cell starts
        Assert.ThrowsAny<OperationCanceledException>(() => new SparsitySweep(Dir("c"), first, Options).Run(cancellation: cancel.Token));
        Assert.Equal(3, new CellStore(Path.Combine(Dir("c"), "cells")).LoadAll().Count);

        var second = fixture.Generator();
        var resumed = new SparsitySweep(Dir("c"), second, Options).Run();
        Assert.True(resumed.Complete);
        Assert.Equal(Cells - 3, second.Generations);
    }

    [Fact]
    public void Unreadable_cell_file_is_recomputed_not_trusted()
    {
        var options = Options with { Modes = new[] { SweepMode.Single } };
        var first = fixture.Generator();
        var done = new SparsitySweep(Dir("d"), first, options).Run();
        File.WriteAllText(new CellStore(Path.Combine(Dir("d"), "cells")).PathOf(done.Results[1].Cell), "{\"Cell\": {\"Method\": \"bottom_k\", \"Mo");
        var second = fixture.Generator();
        var again = new SparsitySweep(Dir("d"), second, options).Run();
        Assert.Equal(1, second.Generations);
        Assert.Equal(SweepTable.Csv(done), SweepTable.Csv(again));
    }

    [Fact]
    public void Folder_of_a_sweep_with_other_settings_is_refused_unless_fresh()
    {
        new SparsitySweep(Dir("e"), fixture.Generator(), Options with { ProfileOnly = true }).Run();
        var other = fixture.Generator(SweepFixture.Request with { Seed = 12 });
        var e = Assert.Throws<VDiTLensException>(() => new SparsitySweep(Dir("e"), other, Options with { ProfileOnly = true }));
        Assert.Contains("seed", e.Message);
        var fresh = new SparsitySweep(Dir("e"), other, Options with { ProfileOnly = true, Fresh = true }).Run();
        Assert.True(fresh.DenseGenerated);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }
}
