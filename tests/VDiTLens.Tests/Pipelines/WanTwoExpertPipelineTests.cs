using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// The Wan2.2 A14B expert switch: which expert runs each step (t ≥ boundary_ratio · num_train_timesteps → transformer),
/// its guidance scale, that each step's predictions are that expert's own forward, and that every attention call
/// carries the expert.
/// </summary>
public sealed class WanTwoExpertPipelineTests
{
    private sealed record Step(int Index, double Timestep, string Expert, Tensor Before, Tensor After, Tensor Cond, Tensor Uncond, Tensor Guided);

    private static (List<Step> Steps, Tensor Video) Run(WanPipeline pipe, double? guidanceScale2, bool batchGuidance = false)
    {
        var init = torch.randn(new long[] { 2, 4, 3, 4, 6 }, generator: new Generator(5));
        var steps = new List<Step>();
        var previous = init.clone();
        var video = pipe.Generate(WanPipelineParityTests.FixtureRequest(init) with
        {
            GuidanceScale2 = guidanceScale2,
            BatchGuidance = batchGuidance,
            OnStep = s =>
            {
                steps.Add(new Step(s.Step, s.Timestep, pipe.Seam.State.Expert, previous, s.Latents.clone(),
                    s.ConditionalPrediction.clone(), s.UnconditionalPrediction!.clone(), s.NoisePrediction.clone()));
                previous = s.Latents.clone();
            },
        });
        return (steps, video);
    }

    [Fact]
    public void Each_step_runs_the_expert_its_timestep_selects_with_that_experts_guidance_scale()
    {
        TorchRuntime.Initialise();
        using var folder = new TwoExpertPipeline();
        using var pipe = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        var (steps, _) = Run(pipe, guidanceScale2: 3.0);
        using var cond = pipe.EncodePrompts(WanPipelineParityTests.Prompts, 16);
        Assert.Equal(4, steps.Count);
        foreach (var s in steps)
        {
            string expected = (float)s.Timestep >= 875f ? "transformer" : "transformer_2";
            Assert.Equal(expected, s.Expert);
            // the step's conditional prediction is exactly that expert's forward on the step's input
            var model = expected == "transformer" ? pipe.Experts.Transformer : pipe.Experts.Transformer2!;
            using var direct = model.Forward(s.Before, torch.full(2, s.Timestep, ScalarType.Float32), cond);
            Assert.Equal(0.0, (direct - s.Cond).abs().max().item<float>(), 6);
            double g = expected == "transformer" ? 5.0 : 3.0;
            using var guided = s.Uncond + g * (s.Cond - s.Uncond);
            Assert.Equal(0.0, (guided - s.Guided).abs().max().item<float>(), 6);
        }
        // the 4-step UniPC schedule straddles the boundary, so both experts ran
        Assert.Contains(steps, s => s.Expert == "transformer");
        Assert.Contains(steps, s => s.Expert == "transformer_2");
        Assert.Equal(AttentionRunState.MainExpert, pipe.Seam.State.Expert);   // reset after the loop
    }

    [Fact]
    public void Without_guidance_scale_2_both_experts_use_guidance_scale()
    {
        TorchRuntime.Initialise();
        using var folder = new TwoExpertPipeline();
        using var pipe = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        var (steps, _) = Run(pipe, guidanceScale2: null);
        foreach (var s in steps)
        {
            using var guided = s.Uncond + 5.0 * (s.Cond - s.Uncond);
            Assert.Equal(0.0, (guided - s.Guided).abs().max().item<float>(), 6);
        }
    }

    [Fact]
    public void Every_attention_call_carries_its_expert_and_selectors_pick_one_expert()
    {
        TorchRuntime.Initialise();
        using var folder = new TwoExpertPipeline();
        using var pipe = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        var all = new List<(string Expert, double Timestep)>();
        var lowOnly = new List<string>();
        using var a = pipe.Seam.Observe(AttentionSelector.All, (call, q, k, v, o) => all.Add((call.Expert, call.State.Timestep)));
        using var b = pipe.Seam.Observe(new AttentionSelector { Experts = ["transformer_2"] }, (call, q, k, v, o) => lowOnly.Add(call.Expert));
        Run(pipe, guidanceScale2: 3.0, batchGuidance: true);
        Assert.All(all, c => Assert.Equal((float)c.Timestep >= 875f ? "transformer" : "transformer_2", c.Expert));
        Assert.Equal(all.Count(c => c.Expert == "transformer_2"), lowOnly.Count);
        Assert.True(lowOnly.Count > 0 && lowOnly.Count < all.Count);
    }

    [Fact]
    public void Active_only_placement_gives_the_same_video()
    {
        TorchRuntime.Initialise();
        using var folder = new TwoExpertPipeline();
        using var both = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32, ExpertPlacement.BothOnDevice);
        using var one = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32, ExpertPlacement.ActiveOnly);
        Assert.False(both.Experts.ActiveOnly);
        Assert.True(one.Experts.ActiveOnly);
        var (_, a) = Run(both, 3.0);
        var (_, b) = Run(one, 3.0);
        Assert.Equal(0f, (a - b).abs().max().item<float>());
    }

    [Fact]
    public void Guidance_scale_2_on_a_single_transformer_pipeline_is_refused()
    {
        using var pipe = WanPipelineParityTests.LoadFixture();
        var e = Assert.Throws<VDiTLensException>(() => pipe.Denoise(WanPipelineParityTests.FixtureRequest(torch.zeros(new long[] { 2, 4, 3, 4, 6 })) with { GuidanceScale2 = 2.0 }));
        Assert.Contains("guidance_scale_2", e.Message);
        Assert.Contains("transformer_2", e.Message);
    }

    [Fact]
    public void Placement_policy_keeps_both_experts_only_when_they_fit_with_the_reserve()
    {
        Assert.True(ExpertPlacementPolicy.BothFit(30, 10, 100));    // 60 + 10 + 15 ≤ 100
        Assert.False(ExpertPlacementPolicy.BothFit(40, 10, 100));   // 80 + 10 + 15 > 100
    }
}
