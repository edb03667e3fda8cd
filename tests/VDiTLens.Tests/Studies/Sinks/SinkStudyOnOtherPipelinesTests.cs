using VDiTLens.Interventions;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using VDiTLens.Studies.Sinks;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Attention;

namespace VDiTLens.Tests.Studies.Sinks;

/// <summary>
/// The sink study on the CogVideoX and Mochi fixture pipelines (loaded through <see cref="TextToVideoPipelines"/>) with
/// a sink planted on one video key of transformer_blocks.1.attn1, a joint text-video site.
/// </summary>
public sealed class SinkStudyOnOtherPipelinesTests
{
    /// <summary>
    /// Video token 5 of the 3 × 2 × 2 (CogVideoX, 9 frames) or 2 × 2 × 2 (Mochi, 7 frames) latent grid: frame 1, y 0,
    /// x 1. CogVideoX's joint keys are [16 text, video], Mochi's [video, text].
    /// </summary>
    [Theory]
    [InlineData("cogvideox_pipeline", 9, 16, 16 + 5)]
    [InlineData("mochi_pipeline", 7, 8, 5)]
    public void Study_finds_a_sink_planted_in_a_joint_site(string fixture, int frames, int maxLength, long planted)
    {
        TorchRuntime.Initialise();
        using var pipeline = TextToVideoPipelines.Load(Fixtures.Path(fixture, "pipeline"), ComputeOptions.Cpu32);
        using var plant = pipeline.Seam.Attach(new PlantedSink(planted, 8, new AttentionSelector { Sites = new[] { "transformer_blocks.1.attn1" } }));
        var options = new SinkStudyOptions
        {
            Template = new GenerationRequest { Steps = 2, Frames = frames, Height = 32, Width = 32, GuidanceScale = 2, MaxSequenceLength = maxLength },
            Prompts = new[] { "a red circle moving left" },
            Seeds = new long[] { 1 },
            Sites = new AttentionSelector { Sites = new[] { "joint" }, Steps = new[] { 0 } },
            Criteria = new SinkCriteria(RatioThreshold: 5, Epsilon: 0.3, TopK: 3),
            AblationModes = new[] { SinkAblationMode.Mask },
            Taus = new[] { 0.5 },
        };
        var result = new SinkStudy(pipeline, options).Run();

        var site = result.Detection.Of("transformer_blocks.1.attn1")!;
        Assert.Equal("joint", site.Kind);
        Assert.Equal(planted, site.TopK[0]);
        Assert.Contains(planted, site.Positions);
        Assert.Equal("video(f=1, y=0, x=1)", site.Tokens.First(t => t.Position == planted).Location);
        Assert.DoesNotContain(planted, result.Detection.Of("transformer_blocks.0.attn1")!.Positions);

        Assert.All(result.Ablations, a => Assert.True(a.LatentRelativeError > 0, $"{a.Condition}: {a.LatentRelativeError}"));
        Assert.Contains(result.Characterisation.Norms, n => n.Site == "transformer_blocks.1.attn1" && n.Sinks >= 1);
        Assert.Equal(new[] { "transformer_blocks.0.hidden", "transformer_blocks.1.hidden" }, result.Characterisation.Residuals.Select(r => r.Key));
        Assert.All(result.Characterisation.Residuals, r => Assert.True(r.MaxAbs >= r.MedianAbs && r.MaxLocation.StartsWith("video("), r.ToString()));

        var byTau = result.Temperatures.ToDictionary(t => t.Tau);
        Assert.Equal(0, byTau[1.0].Output.LatentRelativeError);
        Assert.True(byTau[0.5].Entropy < byTau[1.0].Entropy, $"entropy {byTau[0.5].Entropy} / {byTau[1.0].Entropy}");
        Assert.True(byTau[1.0].SinkMass > 0, $"sink mass {byTau[1.0].SinkMass}");
    }
}
