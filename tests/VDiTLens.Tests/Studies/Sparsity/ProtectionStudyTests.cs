using TorchSharp;
using VDiTLens.Metrics;
using VDiTLens.Studies.Sparsity;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Studies.Sparsity;

/// <summary>The held-out study on the random 2-layer pixel-space pipeline (1 step, 2 prompts).</summary>
public sealed class ProtectionStudyTests(ITestOutputHelper output) : IDisposable
{
    private readonly SweepFixture _fixture = new();
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("vditlens-protection-");

    private ProtectionCells Cells(string name) => ProtectionCells.Open(Path.Combine(_folder.FullName, name), "fixture", SweepFixture.Request, Options.Method);

    private static readonly ProtectionOptions Options = new()
    {
        Levels = new[] { 0.5 }, DevSeeds = new long[] { 0 }, TestSeeds = new long[] { 1, 2 }, KeepDense = 1, RandomDraws = 2,
        ValidateProxy = true, ProxySamples = 1, CalibrationQueryStride = 2,
    };

    [Fact]
    public void Arms_run_on_held_out_seeds_with_selection_from_dev_seeds_only()
    {
        var result = new ProtectionStudy(_fixture.Pipeline, SweepFixture.Request, Options, Cells("a")).Run()!;
        foreach (var r in result.Dev.Ranking) output.WriteLine($"layer {r.Layer}: {r.Score:G4}");
        var arms = result.Samples.Select(s => s.Arm).Distinct().ToArray();
        Assert.Equal(new[] { ProtectionArms.NoiseFloor, ProtectionArms.OtherSeed, ProtectionArms.AllMasked, ProtectionArms.SensitiveDense,
            ProtectionArms.LeastSensitiveDense, "random_dense_0", "random_dense_1", ProtectionArms.RandomKeys, ProtectionArms.AllMaskedTemperature }, arms);
        Assert.Equal(arms.Length * 2 * 2, result.Samples.Count); // arms × prompts × held-out seeds
        Assert.All(result.Samples, s => Assert.Contains(s.Seed, Options.TestSeeds));
        Assert.Equal(result.Dev.Ranking[0].Layer, Assert.Single(result.Dev.Sensitive));
        Assert.Equal(result.Dev.Ranking[^1].Layer, Assert.Single(result.Dev.LeastSensitive));
        Assert.Equal(2, result.Dev.Temperatures.Count); // one per layer at the one level
        Assert.All(result.Dev.Temperatures, t => Assert.All(t.Taus, tau => Assert.True(tau > 1, $"{t.Site}: τ {tau}")));
        var validation = Assert.IsType<ProxyValidation>(result.Dev.Validation);
        Assert.Equal(2, validation.Cells.Count);
        Assert.All(validation.Cells, c => Assert.Equal(2, c.Proxy.Count)); // 2 prompts × 1 dev seed

        // the same selection whatever the held-out seeds are
        var other = new ProtectionStudy(_fixture.Pipeline, SweepFixture.Request, Options with { TestSeeds = new long[] { 7, 8 }, DevOnly = true }, Cells("b")).Run()!;
        Assert.Empty(other.Samples);
        Assert.Equal(result.Dev.Ranking.Select(r => r.Score), other.Dev.Ranking.Select(r => r.Score));
        Assert.Equal(result.Dev.Temperatures.SelectMany(t => t.Taus), other.Dev.Temperatures.SelectMany(t => t.Taus));

        // one row recomputed independently: every layer masked at seed 2, against the dense run of seed 2
        var request = SweepFixture.Request with { Seed = 2 };
        using var dense = _fixture.Pipeline.Denoise(request);
        var attached = Options.Method.Build(0.5, result.Sites).Select(i => _fixture.Pipeline.Seam.Attach(i)).ToList();
        using var masked = _fixture.Pipeline.Denoise(request);
        foreach (var a in attached) a.Dispose();
        using var denseVideo = _fixture.Pipeline.DecodeLatents(dense);
        using var maskedVideo = _fixture.Pipeline.DecodeLatents(masked);
        var row = result.Samples.Single(s => s.Arm == ProtectionArms.AllMasked && s.Seed == 2 && s.Prompt == 1);
        Assert.Equal(RelativeL2.Of(dense[1].unsqueeze(0), masked[1].unsqueeze(0)), row.LatentRelativeL2, 6);
        Assert.Equal(Psnr.PerVideo(denseVideo, maskedVideo)[1], row.Psnr, 6);
        Assert.True(row.LatentRelativeL2 > 1e-3, "masking half the keys changed nothing; the check would be empty");
        Assert.All(result.Samples.Where(s => s.Arm == ProtectionArms.NoiseFloor), s => Assert.True(s.LatentRelativeL2 < 1e-5, $"noise floor {s.LatentRelativeL2}"));
    }

    public void Dispose()
    {
        _fixture.Dispose();
        _folder.Delete(recursive: true);
    }
}
