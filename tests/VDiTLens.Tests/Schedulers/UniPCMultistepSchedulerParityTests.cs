using VDiTLens.Schedulers;
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
