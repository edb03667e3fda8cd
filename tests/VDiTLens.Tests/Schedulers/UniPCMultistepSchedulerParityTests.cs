using VDiTLens.Schedulers;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Schedulers;

public sealed class UniPCMultistepSchedulerParityTests(ITestOutputHelper output)
{
    private const string Name = "unipc_wan";

    [Theory]
    [InlineData(4)]
    [InlineData(10)]
    public void Timesteps_and_sigmas_equal_diffusers(int n)
    {
        var c = new SchedulerCase(Name);
        Assert.IsType<UniPCMultistepScheduler>(c.Scheduler);
        c.Scheduler.SetTimesteps(n);
        SchedulerCase.AssertExactlyEqual(c[$"n{n}.timesteps"], c.Scheduler.Timesteps, $"n{n} timesteps");
        SchedulerCase.AssertExactlyEqual(c[$"n{n}.sigmas"], c.Scheduler.Sigmas!, $"n{n} sigmas");
    }

    [Theory]
    [InlineData(4)]
    [InlineData(10)]
    public void Every_step_latent_matches_diffusers(int n)
    {
        var c = new SchedulerCase(Name);
        c.Scheduler.SetTimesteps(n);
        SchedulerCase.AssertSteps(c.RunLoop(n), $"{Name} n{n}", output);
    }

    /// <summary>
    /// The scheduler inside diffusers' WanPipeline run (batch 2, guided noise predictions): the reference computed the
    /// noise predictions in float64 and stored them rounded to float32, so this is close but not bit-exact.
    /// </summary>
    [Fact]
    public void Wan_pipeline_denoising_loop_matches_diffusers()
    {
        var scheduler = SchedulerLoader.Load(Fixtures.Path("wan_pipeline", "pipeline"));
        var reference = Fixtures.Load("wan_pipeline/reference.safetensors");
        scheduler.SetTimesteps(4);
        SchedulerCase.AssertExactlyEqual(reference["timesteps"], scheduler.Timesteps, "wan_pipeline timesteps");
        SchedulerCase.AssertExactlyEqual(reference["sigmas"], scheduler.Sigmas!, "wan_pipeline sigmas");
        using var _ = TorchSharp.torch.no_grad();
        var latents = reference["latents_init"];
        var errors = new double[4];
        for (int i = 0; i < 4; i++)
        {
            latents = scheduler.Step(reference[$"noise_pred.step{i}"], i, latents);
            errors[i] = Fixtures.RelativeL2(latents, reference[$"latents.step{i}"]);
        }
        SchedulerCase.AssertSteps(errors, "wan_pipeline latents", output);
    }

    [Fact]
    public void Reset_lets_one_scheduler_run_several_generations()
    {
        var c = new SchedulerCase(Name);
        c.Scheduler.SetTimesteps(10);
        c.RunLoop(10);
        c.Scheduler.Reset();
        SchedulerCase.AssertSteps(c.RunLoop(10), $"{Name} n10 after Reset", output);
        c.Scheduler.SetTimesteps(4);
        SchedulerCase.AssertSteps(c.RunLoop(4), $"{Name} n4 after SetTimesteps", output);
    }

    [Fact]
    public void Out_of_order_step_is_refused()
    {
        var c = new SchedulerCase(Name);
        c.Scheduler.SetTimesteps(4);
        var e = Assert.Throws<InvalidOperationException>(() => c.Scheduler.Step(c["n4.model_output.1"], 1, c["n4.init_latent"]));
        Assert.Contains("expected step 0", e.Message);
    }
}
