using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Training;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Training;

public sealed class OptimisationTests
{
    /// <summary>Three steps of our AdamW against TorchSharp's own on the same parameters and gradients.</summary>
    [Fact]
    public void AdamW_matches_torch_AdamW()
    {
        TorchRuntime.Initialise();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        var ours = new Parameter(torch.randn(4, 5, dtype: ScalarType.Float64));
        var theirs = new Parameter(ours.detach().clone());
        using var adam = new NamedAdamW(new[] { ("w", ours) }, weightDecay: 0.1);
        var reference = torch.optim.AdamW(new[] { theirs }, lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1);
        for (int step = 0; step < 3; step++)
        {
            var gradient = torch.randn(4, 5, dtype: ScalarType.Float64);
            adam.ZeroGrad();
            reference.zero_grad();
            (ours * gradient).sum().backward();
            (theirs * gradient).sum().backward();
            adam.Step(0.01);
            reference.step();
        }
        Fixtures.AssertClose(ours, theirs, 1e-12, "AdamW after 3 steps");
    }

    [Fact]
    public void AdamW_does_not_decay_vectors()
    {
        TorchRuntime.Initialise();
        var bias = new Parameter(torch.ones(3));
        using var adam = new NamedAdamW(new[] { ("b", bias) }, weightDecay: 0.5);
        bias.grad = torch.zeros(3);
        adam.Step(0.1);
        Assert.Equal(3.0, bias.sum().item<float>(), 6);
    }

    [Fact]
    public void Ema_warms_up_then_caps_the_decay_and_averages()
    {
        TorchRuntime.Initialise();
        var p = new Parameter(torch.zeros(1));
        using var ema = new ExponentialMovingAverage(new[] { ("p", p) }, 0.99);
        Assert.Equal(0.1, ema.DecayAt(0), 12);
        Assert.Equal(0.99, ema.DecayAt(100_000), 12);
        using (torch.no_grad()) p.fill_(1);
        ema.Update(0);
        Assert.Equal(0.9, ema.Weights["p"].item<float>(), 6);
    }

    [Fact]
    public void Learning_rate_warms_up_linearly_then_follows_the_cosine_to_its_floor()
    {
        var s = new LearningRateSchedule(1e-3, 10, 110, 0.1);
        Assert.Equal(1e-4, s.At(0), 12);
        Assert.Equal(1e-3, s.At(9), 12);
        Assert.Equal(1e-3, s.At(10), 12);
        Assert.Equal(0.55e-3, s.At(60), 12);
        Assert.Equal(1e-4, s.At(110), 12);
        Assert.Equal(1e-4, s.At(500), 12);
    }
}
