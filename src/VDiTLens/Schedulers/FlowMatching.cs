using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Schedulers;

/// <summary>
/// Rectified-flow training terms in the convention of <c>FlowMatchEulerDiscreteScheduler</c>: x_σ = (1 − σ)·x₀ + σ·ε,
/// the model predicts the velocity v = dx/dσ = ε − x₀ at timestep σ·1000, and the scheduler integrates
/// x_next = x + (σ_next − σ)·v with σ falling from 1 to 0.
/// </summary>
public static class FlowMatching
{
    public const double TrainTimesteps = 1000.0;

    /// <summary>The scheduler's time shift σ = s·u / (1 + (s − 1)·u), applied to u ∈ [0, 1].</summary>
    public static double Shift(double u, double shift) => shift * u / (1 + (shift - 1) * u);

    /// <summary>Noisy sample and regression target for clean <paramref name="x0"/>, noise and per-sample sigma [B].</summary>
    public static (Tensor Noisy, Tensor Target) Interpolate(Tensor x0, Tensor noise, Tensor sigma)
    {
        using var scope = torch.NewDisposeScope();
        var s = sigma.to(x0.dtype).reshape(new long[] { sigma.shape[0] }.Concat(Enumerable.Repeat(1L, (int)x0.dim() - 1)).ToArray());
        var noisy = (1 - s) * x0 + s * noise;
        var target = noise - x0;
        return (noisy.MoveToOuterDisposeScope(), target.MoveToOuterDisposeScope());
    }

    /// <summary>The model's timestep input for sigma [B].</summary>
    public static Tensor Timestep(Tensor sigma) => sigma * TrainTimesteps;
}
