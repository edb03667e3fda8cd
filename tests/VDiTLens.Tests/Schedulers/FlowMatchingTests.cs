using TorchSharp;
using VDiTLens.Runtime;
using VDiTLens.Schedulers;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Schedulers;

public sealed class FlowMatchingTests
{
    [Fact]
    public void Interpolation_is_clean_at_sigma_0_and_noise_at_sigma_1()
    {
        TorchRuntime.Initialise();
        using var scope = torch.NewDisposeScope();
        var x0 = torch.randn(2, 3, 4);
        var noise = torch.randn(2, 3, 4);
        var (noisy, target) = FlowMatching.Interpolate(x0, noise, torch.tensor(new[] { 0f, 1f }));
        Fixtures.AssertClose(noisy[0], x0[0], 1e-7, "sigma 0");
        Fixtures.AssertClose(noisy[1], noise[1], 1e-7, "sigma 1");
        Fixtures.AssertClose(target, noise - x0, 1e-7, "target");
    }

    /// <summary>
    /// The sign convention against the real scheduler: integrating the training target (ε − x₀) with
    /// FlowMatchEulerDiscreteScheduler from pure noise must land on x₀, since the flow is a straight line.
    /// </summary>
    [Fact]
    public void Euler_scheduler_integrating_the_target_recovers_the_clean_sample()
    {
        TorchRuntime.Initialise();
        using var scope = torch.NewDisposeScope();
        var x0 = torch.randn(new long[] { 1, 3, 2, 4, 4 });
        var noise = torch.randn(new long[] { 1, 3, 2, 4, 4 });
        var scheduler = new FlowMatchEulerDiscreteScheduler(new FlowMatchEulerDiscreteConfig { shift = 3.0 });
        scheduler.SetTimesteps(7);
        var x = noise.clone();
        for (int i = 0; i < 7; i++)
        {
            var sigma = scheduler.Sigmas![i].reshape(1);
            Assert.Equal(scheduler.Timesteps[i].item<float>(), FlowMatching.Timestep(sigma).item<float>(), 3);
            var (expected, target) = FlowMatching.Interpolate(x0, noise, sigma);
            Fixtures.AssertClose(x, expected, 1e-5, $"trajectory at step {i}");
            x = scheduler.Step(target, i, x);
        }
        Fixtures.AssertClose(x, x0, 1e-5, "end of the trajectory");
    }

    [Fact]
    public void Shift_matches_the_scheduler_formula_and_keeps_the_ends()
    {
        Assert.Equal(0.0, FlowMatching.Shift(0, 3));
        Assert.Equal(1.0, FlowMatching.Shift(1, 3), 12);
        Assert.Equal(0.75, FlowMatching.Shift(0.5, 3), 12);
    }
}
