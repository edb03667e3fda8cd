using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.Common;

/// <summary>
/// The encoder's diagonal Gaussian (diffusers' DiagonalGaussianDistribution): <see cref="Moments"/> is the
/// encoder (or quant_conv) output [B, 2·latent channels, T, H, W] (mean ‖ log-variance), <see cref="LogVar"/> is clamped to [-30, 20].
/// </summary>
public sealed record LatentDistribution(Tensor Mean, Tensor LogVar, Tensor Moments)
{
    public static LatentDistribution FromMoments(Tensor moments)
    {
        using var scope = torch.NewDisposeScope();
        var halves = moments.chunk(2, 1);
        var mean = halves[0].MoveToOuterDisposeScope();
        var logVar = halves[1].clamp(-30.0, 20.0).MoveToOuterDisposeScope();
        return new LatentDistribution(mean, logVar, moments);
    }

    /// <summary>The most likely latent (diffusers' mode()).</summary>
    public Tensor Mode => Mean;

    public Tensor Std => (LogVar * 0.5).exp();

    /// <summary>mean + std · ε with ε drawn from <paramref name="generator"/> (or the global generator).</summary>
    public Tensor Sample(Generator? generator = null)
    {
        using var scope = torch.NewDisposeScope();
        var noise = torch.randn(Mean.shape, dtype: Mean.dtype, device: Mean.device, generator: generator);
        return (Mean + Std * noise).MoveToOuterDisposeScope();
    }

    public void Deconstruct(out Tensor mean, out Tensor logVar)
    {
        mean = Mean;
        logVar = LogVar;
    }
}
