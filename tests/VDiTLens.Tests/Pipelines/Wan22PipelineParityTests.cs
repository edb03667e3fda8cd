using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// Wan2.2 pipelines end to end against diffusers (float64 references, run here in float32 on the CPU): the two-expert
/// A14B layout (wan22_pipeline: which expert ran each step, both guidance branches, the latents, the video) and the
/// TI2V-5B layout (wan22_ti2v_pipeline: per-token timesteps, the Wan2.2 VAE; text-to-video).
/// </summary>
public sealed class Wan22PipelineParityTests(ITestOutputHelper output)
{
    private sealed record Recorded(List<Dictionary<string, Tensor>> Steps, Tensor Video);

    private static Recorded Run(WanPipeline pipe, GenerationRequest request)
    {
        var steps = new List<Dictionary<string, Tensor>>();
        var video = pipe.Generate(request with
        {
            OnStep = s => steps.Add(new()
            {
                ["latents"] = s.Latents.clone(),
                ["noise_pred_cond"] = s.ConditionalPrediction.clone(),
                ["noise_pred_uncond"] = s.UnconditionalPrediction!.clone(),
                ["expert"] = torch.tensor(new long[] { pipe.Seam.State.Expert == "transformer" ? 0 : 1 }),
            }),
        });
        return new Recorded(steps, video);
    }

    private void Check(Tensor actual, Tensor expected, string what)
    {
        Fixtures.AssertClose(actual, expected, 1e-5, what, output, withMaxAbs: true);
        double maxAbs = (actual.cpu().to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(maxAbs <= 1e-4, $"{what}: max abs difference {maxAbs:E3} exceeds 1e-4");
    }

    private void CheckSteps(Recorded run, Dictionary<string, Tensor> reference)
    {
        int steps = (int)reference["timesteps"].shape[0];
        Assert.Equal(steps, run.Steps.Count);
        for (int i = 0; i < steps; i++)
        {
            Assert.Equal(reference[$"expert.step{i}"].item<long>(), run.Steps[i]["expert"].item<long>());
            Check(run.Steps[i]["noise_pred_cond"], reference[$"noise_pred_cond.step{i}"], $"noise_pred_cond.step{i}");
            Check(run.Steps[i]["noise_pred_uncond"], reference[$"noise_pred_uncond.step{i}"], $"noise_pred_uncond.step{i}");
            Check(run.Steps[i]["latents"], reference[$"latents.step{i}"], $"latents.step{i}");
        }
        Check(run.Video, reference["video"], "video");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Two_expert_generation_reproduces_diffusers(bool batchGuidance)
    {
        TorchRuntime.Initialise();
        var reference = Fixtures.Load("wan22_pipeline/reference.safetensors");
        using var pipe = WanPipeline.Load(Fixtures.Path("wan22_pipeline", "pipeline"), ComputeOptions.Cpu32);
        var run = Run(pipe, WanPipelineParityTests.FixtureRequest(reference["latents_init"]) with
        {
            GuidanceScale2 = 3.0,
            BatchGuidance = batchGuidance,
        });
        // the fixture's 4 steps straddle boundary_ratio 0.875: both experts ran
        var experts = Enumerable.Range(0, 4).Select(i => reference[$"expert.step{i}"].item<long>()).ToArray();
        Assert.Contains(0L, experts);
        Assert.Contains(1L, experts);
        CheckSteps(run, reference);
    }

    [Fact]
    public void Ti2v_text_to_video_reproduces_diffusers()
    {
        TorchRuntime.Initialise();
        var reference = Fixtures.Load("wan22_ti2v_pipeline/reference.safetensors");
        using var pipe = WanPipeline.Load(Fixtures.Path("wan22_ti2v_pipeline", "pipeline"), ComputeOptions.Cpu32);
        Assert.True(pipe.Folder.ExpandTimesteps);
        var run = Run(pipe, WanPipelineParityTests.FixtureRequest(reference["latents_init"]) with { Width = 64, BatchGuidance = false });
        CheckSteps(run, reference);
    }

    /// <summary>
    /// No diffusers reference of the image-conditioned call exists (its WanImageToVideoPipeline needs ftfy to clean
    /// prompts); its pieces are checked here instead: the first latent frame of the result is the image's normalised VAE
    /// mode (the encoder pinned by Wan22ParityTests) and the other frames are the loop's last latents (the first
    /// frame's zero timesteps: WanPerTokenTimestepTests).
    /// </summary>
    [Fact]
    public void Ti2v_image_conditioning_fixes_the_first_latent_frame()
    {
        TorchRuntime.Initialise();
        var reference = Fixtures.Load("wan22_ti2v_pipeline/reference.safetensors");
        using var pipe = WanPipeline.Load(Fixtures.Path("wan22_ti2v_pipeline", "pipeline"), ComputeOptions.Cpu32);
        var image = torch.rand(new long[] { 1, 3, 32, 64 }, generator: new Generator(3180));
        Tensor? last = null;
        using var final = pipe.Denoise(WanPipelineParityTests.FixtureRequest(reference["latents_init"]) with
        {
            Width = 64,
            Image = image,
            OnStep = s => { last?.Dispose(); last = s.Latents.clone(); },
        });
        // the condition as diffusers' prepare_latents builds it: (mode(encode(2x − 1)) − mean) / std, per channel
        using var mode = pipe.Vae!.Encode((image * 2 - 1).unsqueeze(2)).Mean;
        var c = pipe.Vae.Config;
        using var mean = torch.tensor(c.latents_mean.Select(v => (float)v).ToArray()).view(1, -1, 1, 1, 1);
        using var std = torch.tensor(c.latents_std.Select(v => (float)v).ToArray()).view(1, -1, 1, 1, 1);
        using var condition = ((mode - mean) / std).expand(2, -1, -1, -1, -1);
        Assert.True((final.narrow(2, 0, 1) - condition).abs().max().item<float>() <= 1e-6f, "first latent frame is not the image's latent");
        Assert.Equal(0f, (final.narrow(2, 1, 2) - last!.narrow(2, 1, 2)).abs().max().item<float>());
        // the loop never changed the answer for frame 0: it differs from what the loop left there
        Assert.True((last!.narrow(2, 0, 1) - condition).abs().max().item<float>() > 1e-3f);
    }

    [Fact]
    public void Image_conditioning_on_a_text_to_video_folder_is_refused()
    {
        using var pipe = WanPipelineParityTests.LoadFixture();
        var e = Assert.Throws<VDiTLensException>(() => pipe.Denoise(WanPipelineParityTests.FixtureRequest(torch.zeros(new long[] { 2, 4, 3, 4, 6 })) with { Image = torch.zeros(new long[] { 1, 3, 32, 48 }) }));
        Assert.Contains("expand_timesteps", e.Message);
    }
}
