using TorchSharp;
using VDiTLens.Schedulers;
using Xunit.Abstractions;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Schedulers;

/// <summary>One <c>tests/fixtures/schedulers/&lt;case&gt;</c>: the scheduler built from its config, and its recorded loop.</summary>
internal sealed class SchedulerCase
{
    public const double StepTolerance = 1e-5;

    public string Name { get; }
    public IScheduler Scheduler { get; }
    public Dictionary<string, Tensor> Data { get; }

    public SchedulerCase(string name)
    {
        Name = name;
        Data = Fixtures.Load($"schedulers/{name}/steps.safetensors");
        Scheduler = SchedulerLoader.Load(Fixtures.Path("schedulers", name));
    }

    public Tensor this[string key] => Data[key];

    /// <summary>Runs diffusers' loop on the stored model outputs; returns the relative L2 error of every step's latent.</summary>
    public double[] RunLoop(int n, Action<int>? beforeStep = null)
    {
        using var _ = torch.no_grad();
        var errors = new double[n];
        var latents = Data[$"n{n}.init_latent"] * Scheduler.InitNoiseSigma;
        for (int i = 0; i < n; i++)
        {
            beforeStep?.Invoke(i);
            latents = Scheduler.Step(Data[$"n{n}.model_output.{i}"], i, latents);
            Assert.Equal(ScalarType.Float32, latents.dtype);
            errors[i] = Fixtures.RelativeL2(latents, Data[$"n{n}.latent.{i}"]);
        }
        return errors;
    }

    public static void AssertSteps(double[] errors, string what, ITestOutputHelper output)
    {
        output.WriteLine($"{what}: per-step relative L2 = [{string.Join(", ", errors.Select(e => e.ToString("E2")))}], max {errors.Max():E2}");
        for (int i = 0; i < errors.Length; i++)
            Assert.True(errors[i] <= StepTolerance, $"{what}: latent after step {i} has relative L2 error {errors[i]:E3} > {StepTolerance:E0}");
    }

    /// <summary>Exact equality of two tensors' values (same dtype), with the first mismatch in the message.</summary>
    public static void AssertExactlyEqual(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        var e = expected.to(ScalarType.Float64).data<double>().ToArray();
        var a = actual.to(ScalarType.Float64).data<double>().ToArray();
        for (int i = 0; i < e.Length; i++)
            Assert.True(e[i] == a[i], $"{what}[{i}]: expected {e[i]:R}, got {a[i]:R}");
    }
}
