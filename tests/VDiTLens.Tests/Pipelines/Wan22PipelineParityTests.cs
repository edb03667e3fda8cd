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
/// TI2V-5B layout (wan22_ti2v_pipeline: per-token timesteps, the Wan2.2 VAE; text-to-video and first-frame image).
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

    [Fact]
    public void Ti2v_image_to_video_reproduces_diffusers()
    {
        TorchRuntime.Initialise();
        var reference = Fixtures.Load("wan22_ti2v_pipeline/reference_i2v.safetensors");
        using var pipe = WanPipeline.Load(Fixtures.Path("wan22_ti2v_pipeline", "pipeline"), ComputeOptions.Cpu32);
        var run = Run(pipe, WanPipelineParityTests.FixtureRequest(reference["latents_init"]) with
        {
            Width = 64,
            Image = reference["image_preprocessed"],   // in [-1, 1]: taken as it is, as diffusers' image processor does
        });
        CheckSteps(run, reference);
    }
}
