using TorchSharp;
using VDiTLens.Schedulers;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// The regression a family's transformer is trained with, in the timestep convention its pipeline calls it with: from
/// clean latents x₀, noise ε and the model's timestep t [B], the noisy input and the output the model must predict.
/// Flow matching (Wan, HunyuanVideo; Mochi-1 with inverted sigmas): see <see cref="FlowMatching"/>, σ = t / 1000, or
/// σ = 1 − t / 1000 with the target negated where the scheduler inverts sigmas (diffusers' <c>invert_sigmas</c>).
/// v-prediction (CogVideoX): x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε, target v = √ᾱ_t·ε − √(1 − ᾱ_t)·x₀, ᾱ from the scheduler.
/// </summary>
public sealed class DenoisingObjective
{
    private readonly bool _inverted;
    private readonly Tensor? _alphasCumprod;

    public string Name { get; }

    private DenoisingObjective(string name, bool inverted, Tensor? alphasCumprod)
    {
        Name = name;
        _inverted = inverted;
        _alphasCumprod = alphasCumprod;
    }

    public static DenoisingObjective FlowMatching(IScheduler scheduler) =>
        scheduler is FlowMatchEulerDiscreteScheduler { Config.invert_sigmas: true }
            ? new("flow matching (inverted sigmas: timestep 1000·(1 − σ), target x₀ − ε)", true, null)
            : new("flow matching (timestep 1000·σ, target ε − x₀)", false, null);

    public static DenoisingObjective VPrediction(Tensor alphasCumprod) =>
        new("v-prediction (target √ᾱ·ε − √(1 − ᾱ)·x₀)", false, alphasCumprod.to(ScalarType.Float64).cpu());

    /// <summary>The noisy input and the regression target for clean <paramref name="x0"/> [B, …] and noise like it at the model's timesteps [B], in float32.</summary>
    public (Tensor Noisy, Tensor Target) Sample(Tensor x0, Tensor noise, Tensor timestep)
    {
        using var scope = torch.NewDisposeScope();
        var clean = x0.to(ScalarType.Float32);
        var eps = noise.to(ScalarType.Float32);
        var shape = new long[] { x0.shape[0] }.Concat(Enumerable.Repeat(1L, (int)x0.dim() - 1)).ToArray();
        var t = timestep.to(ScalarType.Float64).cpu();
        if (_alphasCumprod is { } alphas)
        {
            var alpha = alphas.index_select(0, t.round().to(ScalarType.Int64)).to(ScalarType.Float32).to(x0.device).reshape(shape);
            var a = alpha.sqrt();
            var b = (1 - alpha).sqrt();
            return ((a * clean + b * eps).MoveToOuterDisposeScope(), (a * eps - b * clean).MoveToOuterDisposeScope());
        }
        var sigma = t / Schedulers.FlowMatching.TrainTimesteps;
        if (_inverted) sigma = 1 - sigma;
        var (noisy, target) = Schedulers.FlowMatching.Interpolate(clean, eps, sigma.to(ScalarType.Float32).to(x0.device));
        if (_inverted) target = target.neg();
        return (noisy.MoveToOuterDisposeScope(), target.MoveToOuterDisposeScope());
    }
}
