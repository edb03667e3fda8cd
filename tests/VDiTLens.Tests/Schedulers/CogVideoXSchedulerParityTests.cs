using TorchSharp;
using VDiTLens.Schedulers;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Schedulers;

public sealed class CogVideoXSchedulerParityTests(ITestOutputHelper output)
{
    /// <summary>Feeds the draws diffusers made, <c>n{N}.noise.{i}.{j}</c>, in order.</summary>
    private sealed class StoredNoise(SchedulerCase c, int n) : INoiseSource
    {
        private int _step;
        private int _draw;
        public int Draws { get; private set; }

        public void BeginStep(int step) => (_step, _draw) = (step, 0);

        public Tensor Next(Tensor like)
        {
            Draws++;
            return c[$"n{n}.noise.{_step}.{_draw++}"];
        }
    }

    [Theory]
    [InlineData("cogvideox_ddim")]
    [InlineData("cogvideox_dpm")]
    public void Alphas_cumprod_equal_diffusers(string name)
    {
        var c = new SchedulerCase(name);
        var ours = name == "cogvideox_ddim"
            ? ((CogVideoXDDIMScheduler)c.Scheduler).AlphasCumprod
            : ((CogVideoXDPMScheduler)c.Scheduler).AlphasCumprod;
        Assert.Equal(ScalarType.Float64, ours.dtype); // scaled_linear betas are float64 in diffusers
        SchedulerCase.AssertExactlyEqual(c["alphas_cumprod"], ours.to(ScalarType.Float32), $"{name} alphas_cumprod");
    }

    [Theory]
    [InlineData("cogvideox_ddim", 4)]
    [InlineData("cogvideox_ddim", 10)]
    [InlineData("cogvideox_dpm", 4)]
    [InlineData("cogvideox_dpm", 10)]
    public void Timesteps_equal_diffusers(string name, int n)
    {
        var c = new SchedulerCase(name);
        c.Scheduler.SetTimesteps(n);
        SchedulerCase.AssertExactlyEqual(c[$"n{n}.timesteps"], c.Scheduler.Timesteps, $"{name} n{n} timesteps");
        Assert.Null(c.Scheduler.Sigmas);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(10)]
    public void Ddim_every_step_latent_matches_diffusers(int n)
    {
        var c = new SchedulerCase("cogvideox_ddim");
        c.Scheduler.SetTimesteps(n);
        SchedulerCase.AssertSteps(c.RunLoop(n), $"cogvideox_ddim n{n}", output);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(10)]
    public void Dpm_every_step_latent_and_x0_match_diffusers(int n)
    {
        var c = new SchedulerCase("cogvideox_dpm");
        var dpm = Assert.IsType<CogVideoXDPMScheduler>(c.Scheduler);
        dpm.SetTimesteps(n);
        var noise = new StoredNoise(c, n);
        dpm.NoiseSource = noise;
        var x0Errors = new double[n];
        var latentErrors = c.RunLoop(n, beforeStep: i =>
        {
            if (i > 0) x0Errors[i - 1] = Fixtures.RelativeL2(dpm.PredictedOriginalSample!, c[$"n{n}.pred_original_sample.{i - 1}"]);
            noise.BeginStep(i);
        });
        x0Errors[n - 1] = Fixtures.RelativeL2(dpm.PredictedOriginalSample!, c[$"n{n}.pred_original_sample.{n - 1}"]);
        SchedulerCase.AssertSteps(latentErrors, $"cogvideox_dpm n{n} latents", output);
        SchedulerCase.AssertSteps(x0Errors, $"cogvideox_dpm n{n} pred_original_sample", output);
        Assert.Equal(2 * n - 2, noise.Draws);
    }
}
