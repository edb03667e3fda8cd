using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using VDiTLens.Studies.Experts;
using VDiTLens.Studies.Structure;
using VDiTLens.Tests.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Studies.Experts;

/// <summary>
/// The two-expert comparison on a tiny A14B-layout pipeline: each expert's statistics equal those of probes that
/// select that expert's calls with a selector (an independent path through the seam), and the pair rows compare them.
/// </summary>
public sealed class ExpertComparisonTests
{
    [Fact]
    public void Per_expert_statistics_equal_probes_that_select_each_expert()
    {
        TorchRuntime.Initialise();
        using var folder = new TwoExpertPipeline();
        using var pipe = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        var selected = ExpertComparison.Experts.ToDictionary(e => e, e => new ProbeSet(pipe.Seam, ExpertComparison.Options(256L << 20) with
        {
            Grouping = ProbeGrouping.Site,
            Filter = new AttentionSelector { Sites = ["self"], Branches = ["cond"], Experts = [e] },
        }));
        var request = WanPipelineParityTests.FixtureRequest(torch.randn(new long[] { 2, 4, 3, 4, 6 }, generator: new Generator(3))) with { GuidanceScale2 = 3.0 };
        var result = ExpertComparison.Run(pipe, request);

        Assert.Equal(4, result.Statistics.Count);   // 2 layers × 2 experts
        Assert.Equal(2, result.Comparisons.Count);
        foreach (var (expert, probes) in selected)
        {
            using var results = probes.Results();
            foreach (var s in result.Statistics.Where(s => s.Expert == expert))
            {
                var group = new ProbeGroup(s.Site);
                var mass = results[new ProbeKey(group, "received_mass")].to(ScalarType.Float64);
                Assert.Equal(mass.amax(new long[] { -1 }).mean().item<double>(), s.TopMass, 9);
                Assert.Equal(s.TopMass * mass.shape[^1], s.TopRatio, 9);
                Assert.Equal(results[new ProbeKey(group, "entropy")].to(ScalarType.Float64).mean().item<double>(), s.Entropy, 9);
                Assert.Equal(results[new ProbeKey(group, "coverage_fraction")].to(ScalarType.Float64).select(-1, 1).mean().item<double>(), s.Coverage90, 9);
            }
            probes.Dispose();
        }
        foreach (var c in result.Comparisons)
        {
            var high = result.Statistics.Single(s => s.Site == c.Site && s.Expert == "transformer");
            var low = result.Statistics.Single(s => s.Site == c.Site && s.Expert == "transformer_2");
            Assert.Equal(low.Entropy - high.Entropy, c.EntropyDifference, 12);
            Assert.InRange(c.FrameMaps.Pearson, -1.0, 1.0);
            Assert.NotEqual(0.0, c.EntropyDifference);   // two different random experts attend differently
        }
    }

    [Fact]
    public void A_single_transformer_pipeline_is_refused()
    {
        using var pipe = WanPipelineParityTests.LoadFixture();
        var e = Assert.Throws<VDiTLensException>(() => ExpertComparison.Run(pipe, WanPipelineParityTests.FixtureRequest(torch.zeros(new long[] { 2, 4, 3, 4, 6 }))));
        Assert.Contains("two-expert pipeline", e.Message);
    }
}
