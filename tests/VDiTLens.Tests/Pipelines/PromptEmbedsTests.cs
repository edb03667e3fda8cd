using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>GenerationRequest.PromptEmbeds / NegativePromptEmbeds (diffusers' prompt_embeds=, negative_prompt_embeds=).</summary>
public sealed class PromptEmbedsTests(ITestOutputHelper output)
{
    // Measured (float32, CPU): video 8.4e-7 relative L2 against diffusers' float64 video, the same as from the prompts.
    [Fact]
    public void Diffusers_prompt_embeddings_reproduce_the_diffusers_video()
    {
        var reference = Fixtures.Load("wan_pipeline/reference.safetensors");
        using var pipeline = WanPipelineParityTests.LoadFixture();
        var request = WanPipelineParityTests.FixtureRequest(reference["latents_init"]) with
        {
            Prompts = Array.Empty<string>(),
            PromptEmbeds = reference["prompt_embeds"],
            NegativePromptEmbeds = reference["negative_prompt_embeds"],
        };
        using var video = pipeline.Generate(request);
        double error = Fixtures.RelativeL2(video, reference["video"]);
        output.WriteLine($"video relative L2 {error:E3}");
        Assert.Equal(new long[] { 2, 9, 32, 48, 3 }, video.shape);
        Assert.True(error <= 1e-5, $"video relative L2 {error:E3}");
    }

    [Fact]
    public void Embeddings_of_the_wrong_width_are_refused()
    {
        using var pipeline = WanPipelineParityTests.LoadFixture();
        using var wrong = torch.zeros(1, 16, 8);
        var request = new GenerationRequest { PromptEmbeds = wrong, Steps = 1, Height = 32, Width = 48, Frames = 9, MaxSequenceLength = 16 };
        var message = Assert.Throws<VDiTLensException>(() => pipeline.Denoise(request).Dispose()).Message;
        Assert.Contains("PromptEmbeds is [1, 16, 8]; it must be [1, L, 32]", message);
    }

    [Fact]
    public void Embeddings_are_not_freed_by_the_pipeline()
    {
        var reference = Fixtures.Load("wan_pipeline/reference.safetensors");
        using var pipeline = WanPipelineParityTests.LoadFixture();
        var embeds = reference["prompt_embeds"];
        var request = WanPipelineParityTests.FixtureRequest(reference["latents_init"]) with { Prompts = Array.Empty<string>(), PromptEmbeds = embeds, Steps = 1 };
        pipeline.Denoise(request).Dispose();
        Assert.Equal(reference["prompt_embeds"].abs().sum().item<float>(), embeds.abs().sum().item<float>());
    }
}
