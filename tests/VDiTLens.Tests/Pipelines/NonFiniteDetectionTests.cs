using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Pipelines;

/// <summary>A NaN in the transformer stops the generation with the step and the first attention site where it showed.</summary>
public sealed class NonFiniteDetectionTests
{
    [Theory]
    [InlineData("blocks.1.attn1.to_q.weight", "blocks.1.attn1", "already non-finite")]
    [InlineData("blocks.0.attn2.to_out.0.weight", "blocks.1.attn1", "already non-finite")]
    [InlineData("proj_out.weight", null, "after the last attention call")]
    public void Nan_weight_is_located(string parameter, string? site, string cause)
    {
        using var pipeline = WanPipelineParityTests.LoadFixture();
        using (torch.no_grad())
            pipeline.Transformer.named_parameters().Single(p => p.name == parameter).parameter.fill_(double.NaN);
        var reference = Fixtures.Load("wan_pipeline/reference.safetensors");
        var e = Assert.Throws<VDiTLensException>(() => pipeline.Generate(WanPipelineParityTests.FixtureRequest(reference["latents_init"])).Dispose());
        Assert.Contains("step 0 (timestep 999", e.Message);
        Assert.Contains(cause, e.Message);
        if (site is not null) Assert.Contains($"first non-finite attention output at {site} (batch rows 0 (cond), 1 (cond), 2 (uncond), 3 (uncond))", e.Message);
        Assert.Equal(-1, pipeline.Seam.State.Step);
        Assert.Empty(pipeline.Seam.Probes);
    }

    [Fact]
    public void Nan_in_initial_latents_is_refused()
    {
        using var pipeline = WanPipelineParityTests.LoadFixture();
        var reference = Fixtures.Load("wan_pipeline/reference.safetensors");
        var latents = reference["latents_init"].clone();
        latents[0, 0, 0, 0, 0] = torch.tensor(float.NaN);
        var e = Assert.Throws<VDiTLensException>(() => pipeline.Generate(WanPipelineParityTests.FixtureRequest(latents)).Dispose());
        Assert.Contains("initial latents contain NaN", e.Message);
    }
}
