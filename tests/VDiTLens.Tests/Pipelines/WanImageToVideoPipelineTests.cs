using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// The Wan2.2 I2V-A14B layout (WanImageToVideoPipeline, two experts, no image encoder, the image as 8 extra input
/// channels). The loop is pinned against diffusers through the text-to-video two-expert reference (wan22_pipeline):
/// with zero weights on the condition channels an image-to-video expert computes exactly what its text-to-video self
/// computes. The condition channels themselves are pinned against their construction by hand from the VAE encoder
/// (pinned by WanVaeParityTests).
/// </summary>
public sealed class WanImageToVideoPipelineTests(ITestOutputHelper output)
{
    private static Tensor Image(ulong seed) => torch.rand(new long[] { 1, 3, 32, 48 }, generator: new Generator(seed));

    private void Check(Tensor actual, Tensor expected, string what)
    {
        double maxAbs = (actual.cpu().to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>();
        output.WriteLine($"{what}: max abs {maxAbs:E3}");
        Assert.True(maxAbs <= 1e-4, $"{what}: max abs difference {maxAbs:E3} exceeds 1e-4");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Zero_condition_weights_reproduce_the_diffusers_two_expert_loop(bool batchGuidance)
    {
        TorchRuntime.Initialise();
        var reference = Fixtures.Load("wan22_pipeline/reference.safetensors");
        using var folder = new ImageToVideoPipeline(zeroConditionWeights: true);
        using var pipe = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        Assert.True(pipe.Folder.ConcatImageCondition);
        Assert.Equal("WanImageToVideoPipeline", pipe.ClassName);
        var steps = new List<(Tensor Latents, string Expert)>();
        using var video = pipe.Generate(WanPipelineParityTests.FixtureRequest(reference["latents_init"]) with
        {
            GuidanceScale2 = 3.0,
            BatchGuidance = batchGuidance,
            Image = Image(5),
            OnStep = s => steps.Add((s.Latents.clone(), pipe.Seam.State.Expert)),
        });
        Assert.Equal(4, steps.Count);
        for (int i = 0; i < steps.Count; i++)
        {
            Assert.Equal(reference[$"expert.step{i}"].item<long>() == 0 ? "transformer" : "transformer_2", steps[i].Expert);
            Check(steps[i].Latents, reference[$"latents.step{i}"], $"latents.step{i}");
        }
        Check(video, reference["video"], "video");
    }

    [Fact]
    public void Condition_channels_are_the_first_frame_mask_and_the_normalised_latents_of_the_image_and_black_frames()
    {
        TorchRuntime.Initialise();
        using var folder = new ImageToVideoPipeline(zeroConditionWeights: true);
        using var pipe = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        var image = Image(6);
        var request = WanPipelineParityTests.FixtureRequest(torch.zeros(new long[] { 2, 4, 3, 4, 6 })) with { Image = image };
        using var condition = pipe.ImageConditionChannels(request);
        Assert.Equal(new long[] { 2, 8, 3, 4, 6 }, condition.shape);

        // by hand: mask channels 1 on latent frame 0 only; then (mode(encode([2x − 1, 0, …, 0])) − mean) / std
        using var mask = torch.zeros(new long[] { 2, 4, 3, 4, 6 });
        mask.narrow(2, 0, 1).fill_(1);
        Assert.Equal(0f, (condition.narrow(1, 0, 4) - mask).abs().max().item<float>());
        using var video = torch.zeros(new long[] { 1, 3, 9, 32, 48 });
        video.narrow(2, 0, 1).copy_((image * 2 - 1).unsqueeze(2));
        using var mode = pipe.Vae!.Encode(video).Mean;
        var c = pipe.Vae.Config;
        using var mean = torch.tensor(c.latents_mean.Select(v => (float)v).ToArray()).view(1, -1, 1, 1, 1);
        using var std = torch.tensor(c.latents_std.Select(v => (float)v).ToArray()).view(1, -1, 1, 1, 1);
        using var expected = ((mode - mean) / std).expand(2, -1, -1, -1, -1);
        Check(condition.narrow(1, 4, 4), expected, "image latents");
        // the black frames are part of what was encoded: the later latent frames are not the encoding of zeros alone
        using var blackOnly = pipe.Vae.Encode(torch.zeros(new long[] { 1, 3, 9, 32, 48 })).Mean;
        Assert.True((mode.narrow(2, 1, 1) - blackOnly.narrow(2, 1, 1)).abs().max().item<float>() > 1e-4f,
            "the second latent frame does not depend on the image: the VAE did not see image and black frames as one video");
    }

    [Fact]
    public void The_image_steers_the_generation_through_the_condition_channels()
    {
        TorchRuntime.Initialise();
        using var folder = new ImageToVideoPipeline(zeroConditionWeights: false);
        using var pipe = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        var request = WanPipelineParityTests.FixtureRequest(torch.randn(new long[] { 2, 4, 3, 4, 6 }, generator: new Generator(9))) with { Steps = 2 };
        using var a = pipe.Denoise(request with { Image = Image(1) });
        using var again = pipe.Denoise(request with { Image = Image(1) });
        using var b = pipe.Denoise(request with { Image = Image(2) });
        Assert.Equal(0f, (a - again).abs().max().item<float>());
        Assert.True((a - b).abs().max().item<float>() > 1e-3f, "a different image left the latents unchanged");
    }

    [Fact]
    public void An_image_to_video_folder_refuses_a_request_without_an_image()
    {
        TorchRuntime.Initialise();
        using var folder = new ImageToVideoPipeline(zeroConditionWeights: true);
        using var pipe = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        var e = Assert.Throws<VDiTLensException>(() => pipe.Denoise(WanPipelineParityTests.FixtureRequest(torch.zeros(new long[] { 2, 4, 3, 4, 6 }))));
        Assert.Contains("Image is required", e.Message);
    }

    [Fact]
    public void An_image_to_video_transformer_without_the_condition_channels_is_refused()
    {
        using var folder = new TempPipeline(Fixtures.Path("wan22_pipeline", "pipeline"));
        folder.EditJson("model_index.json", j => j["_class_name"] = "WanImageToVideoPipeline");
        var e = Assert.Throws<VDiTLensException>(() => WanPipelineFolder.Open(folder.Path));
        Assert.Contains("in_channels = 4", e.Message);
        Assert.Contains("takes 12", e.Message);
    }

    [Theory]
    [InlineData(9, 4)]
    [InlineData(13, 4)]
    [InlineData(5, 2)]
    public void First_frame_mask_covers_the_first_latent_frame_only(int frames, int temporal)
    {
        using var mask = WanImageCondition.FirstFrameMask(2, temporal, frames, 3, 5, torch.CPU);
        long latentFrames = (frames - 1) / temporal + 1;
        Assert.Equal(new long[] { 2, temporal, latentFrames, 3, 5 }, mask.shape);
        Assert.Equal(1f, mask.narrow(2, 0, 1).min().item<float>());
        Assert.Equal(0f, mask.narrow(2, 1, latentFrames - 1).abs().max().item<float>());
    }
}
