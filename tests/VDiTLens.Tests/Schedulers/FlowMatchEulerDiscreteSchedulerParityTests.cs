using VDiTLens.Schedulers;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Schedulers;

public sealed class FlowMatchEulerDiscreteSchedulerParityTests(ITestOutputHelper output)
{
    /// <summary>Sets the schedule the way each pipeline does (fixture README, "Schedulers").</summary>
    private static SchedulerCase Prepare(string name, int n)
    {
        var c = new SchedulerCase(name);
        var scheduler = Assert.IsType<FlowMatchEulerDiscreteScheduler>(c.Scheduler);
        switch (name)
        {
            case "flowmatch_euler_hunyuan": scheduler.SetTimesteps(FlowMatchSigmaSchedules.HunyuanVideo(n)); break;
            case "flowmatch_euler_mochi": scheduler.SetTimesteps(FlowMatchSigmaSchedules.LinearQuadratic(n, 0.025)); break;
            default: scheduler.SetTimesteps(n); break;
        }
        return c;
    }

    [Theory]
    [InlineData("flowmatch_euler_wan", 4)]
    [InlineData("flowmatch_euler_wan", 10)]
    [InlineData("flowmatch_euler_hunyuan", 4)]
    [InlineData("flowmatch_euler_hunyuan", 10)]
    [InlineData("flowmatch_euler_mochi", 4)]
    [InlineData("flowmatch_euler_mochi", 10)]
    public void Timesteps_and_sigmas_equal_diffusers(string name, int n)
    {
        var c = Prepare(name, n);
        SchedulerCase.AssertExactlyEqual(c[$"n{n}.timesteps"], c.Scheduler.Timesteps, $"{name} n{n} timesteps");
        SchedulerCase.AssertExactlyEqual(c[$"n{n}.sigmas"], c.Scheduler.Sigmas!, $"{name} n{n} sigmas");
    }

    [Theory]
    [InlineData("flowmatch_euler_wan", 4)]
    [InlineData("flowmatch_euler_wan", 10)]
    [InlineData("flowmatch_euler_hunyuan", 4)]
    [InlineData("flowmatch_euler_hunyuan", 10)]
    [InlineData("flowmatch_euler_mochi", 4)]
    [InlineData("flowmatch_euler_mochi", 10)]
    public void Every_step_latent_matches_diffusers(string name, int n)
    {
        var c = Prepare(name, n);
        SchedulerCase.AssertSteps(c.RunLoop(n), $"{name} n{n}", output);
    }

    [Theory]
    [InlineData("flowmatch_euler_hunyuan", 4)]
    [InlineData("flowmatch_euler_hunyuan", 10)]
    [InlineData("flowmatch_euler_mochi", 4)]
    [InlineData("flowmatch_euler_mochi", 10)]
    public void Pipeline_sigma_schedules_equal_the_recorded_input_sigmas(string name, int n)
    {
        var stored = Fixtures.Load($"schedulers/{name}/steps.safetensors")[$"n{n}.input_sigmas"];
        double[] ours = name == "flowmatch_euler_mochi"
            ? FlowMatchSigmaSchedules.LinearQuadratic(n, 0.025)
            : FlowMatchSigmaSchedules.HunyuanVideo(n);
        SchedulerCase.AssertExactlyEqual(stored, TorchSharp.torch.tensor(ours.Select(s => (float)s).ToArray()), $"{name} n{n} input sigmas");
    }
}
