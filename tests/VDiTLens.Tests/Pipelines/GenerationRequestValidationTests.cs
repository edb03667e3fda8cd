using TorchSharp;
using VDiTLens.Pipelines;

namespace VDiTLens.Tests.Pipelines;

/// <summary>Sizes the Wan VAE and patch grid cannot produce are refused with the size to use instead.</summary>
public sealed class GenerationRequestValidationTests
{
    private static GenerationRequest Valid => new()
    {
        Prompts = new[] { "a cat" }, Steps = 1, Height = 32, Width = 48, Frames = 9, MaxSequenceLength = 16,
    };

    private static string Fails(GenerationRequest request)
    {
        using var pipeline = WanPipelineParityTests.LoadFixture();
        return Assert.Throws<VDiTLensException>(() => pipeline.Generate(request).Dispose()).Message;
    }

    [Fact]
    public void Frames_must_be_one_plus_a_multiple_of_four() =>
        Assert.Contains("1 + 4·k (e.g. 9)", Fails(Valid with { Frames = 10 }));

    [Fact]
    public void Height_must_be_a_multiple_of_vae_scale_times_patch() =>
        Assert.Contains("multiples of 16 × 16", Fails(Valid with { Height = 40 }));

    [Fact]
    public void Initial_latents_of_the_wrong_shape_are_refused()
    {
        using var wrong = torch.zeros(new long[] { 1, 4, 3, 4, 4 });
        Assert.Contains("need [1, 4, 3, 4, 6]", Fails(Valid with { InitialLatents = wrong }));
    }

    [Fact]
    public void No_prompt_is_refused() =>
        Assert.Contains("no prompt", Fails(Valid with { Prompts = Array.Empty<string>() }));
}
