using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.Models.Common;
using VDiTLens.Schedulers;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Schedulers;

/// <summary>CogVideoXDDIMScheduler (CogVideoX-2B/5B's scheduler_config.json: trailing, zero-SNR, SNR shift 3) against its formulas in float64.</summary>
public sealed class CogVideoXDdimFormulaTests
{
    private static CogVideoXDDIMScheduler Scheduler(out CogVideoXSchedulerConfig config)
    {
        var json = JsonNode.Parse(File.ReadAllText(Fixtures.Path("schedulers", "cogvideox_ddim", "scheduler_config.json")))!.AsObject();
        config = CogVideoXSchedulerConfig.Read(new ConfigReader(json, "scheduler_config.json"));
        Assert.Equal(("trailing", true, 3.0), (config.timestep_spacing, config.rescale_betas_zero_snr, config.snr_shift_scale));
        return new CogVideoXDDIMScheduler(config);
    }

    [Fact]
    public void Alphas_cumprod_follow_the_formula()
    {
        var scheduler = Scheduler(out var config);
        var expected = CogVideoXDdimFormulas.AlphasCumprod(config);
        var ours = scheduler.AlphasCumprod.data<double>().ToArray();
        Assert.Equal(0.0, ours[^1]); // zero terminal SNR
        double worst = expected.Zip(ours, (e, o) => Math.Abs(e - o) / Math.Max(e, 1e-300)).Max();
        Assert.True(worst < 1e-12, $"alphas_cumprod relative error {worst:E2}");
    }

    [Theory]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(50)]
    public void Timesteps_and_every_step_follow_the_formula_in_float64(int n)
    {
        TorchRuntime();
        var scheduler = Scheduler(out var config);
        scheduler.SetTimesteps(n);
        var timesteps = CogVideoXDdimFormulas.TrailingTimesteps(1000, n);
        Assert.Equal(timesteps, scheduler.Timesteps.data<long>().ToArray());
        var alphas = CogVideoXDdimFormulas.AlphasCumprod(config);
        var generator = new Generator(7);
        var x = torch.randn(new long[] { 1, 3, 4, 2, 2 }, ScalarType.Float64, generator: generator);
        for (int i = 0; i < n; i++)
        {
            var v = torch.randn(x.shape, ScalarType.Float64, generator: generator);
            var expected = CogVideoXDdimFormulas.Step(alphas, timesteps[i], timesteps[i] - 1000 / n, v, x);
            var ours = scheduler.Step(v, i, x);
            Assert.Equal(ScalarType.Float64, ours.dtype);
            double error = Fixtures.RelativeL2(ours, expected);
            Assert.True(error < 1e-12, $"step {i} of {n}: relative L2 {error:E2}");
            x = ours;
        }
    }

    private static void TorchRuntime() => VDiTLens.Runtime.TorchRuntime.Initialise();
}
