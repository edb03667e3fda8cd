using VDiTLens.Interventions;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using VDiTLens.Studies.Sinks;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Attention;

namespace VDiTLens.Tests.Studies.Sinks;

/// <summary>The whole study on the random pixel-space pipeline with a sink planted in blocks.1.attn1.</summary>
public sealed class SinkStudyTests
{
    private const long Planted = 13; // frame 0, y 3, x 1 of a 3×4×4 grid

    [Fact]
    public void Study_finds_the_planted_sink_and_ablation_and_temperature_act_on_it()
    {
        TorchRuntime.Initialise();
        using var folder = new PixelSpacePipeline();
        using var pipeline = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        using var plant = pipeline.Seam.Attach(new PlantedSink(Planted, 8, new AttentionSelector { Sites = new[] { "blocks.1.attn1" } }));
        var options = new SinkStudyOptions
        {
            Template = new GenerationRequest { Steps = 2, Frames = 3, Height = 8, Width = 8, GuidanceScale = 2, MaxSequenceLength = 6 },
            Prompts = new[] { "a red circle moving left", "a blue square moving right" },
            Seeds = new long[] { 1 },
            Sites = new AttentionSelector { Steps = new[] { 0 } },
            Criteria = new SinkCriteria(RatioThreshold: 8, Epsilon: 0.3, TopK: 3),
            AblationModes = new[] { SinkAblationMode.Mask },
            Taus = new[] { 0.5, 2.0 },
        };
        var result = new SinkStudy(pipeline, options).Run();

        var site = result.Detection.Of("blocks.1.attn1")!;
        Assert.Equal(Planted, site.TopK[0]);
        Assert.Contains(Planted, site.Positions);
        Assert.Equal("video(f=0, y=3, x=1)", site.Tokens.First(t => t.Position == Planted).Location);
        Assert.Equal(1.0, result.Detection.Persistence.Single(p => p.Site == "blocks.1.attn1").AcrossPrompts);

        Assert.Equal(2, result.Ablations.Count);
        Assert.All(result.Ablations, a => Assert.True(a.LatentRelativeError > 0));
        Assert.Equal(new[] { "blocks.0.hidden", "blocks.1.hidden" }, result.Characterisation.Residuals.Select(r => r.Key));
        Assert.Contains(result.Characterisation.Norms, n => n.Site == "blocks.1.attn1" && n.Sinks >= 1);

        var byTau = result.Temperatures.ToDictionary(t => t.Tau);
        Assert.Equal(0, byTau[1.0].Output.LatentRelativeError);
        Assert.True(byTau[0.5].Entropy < byTau[1.0].Entropy && byTau[1.0].Entropy < byTau[2.0].Entropy,
            $"entropy {byTau[0.5].Entropy} / {byTau[1.0].Entropy} / {byTau[2.0].Entropy}");
        Assert.True(byTau[1.0].SinkMass > 0);
    }
}
