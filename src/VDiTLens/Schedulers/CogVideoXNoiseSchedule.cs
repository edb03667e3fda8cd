using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Schedulers;

/// <summary>
/// What CogVideoXDDIMScheduler and CogVideoXDPMScheduler share: the SNR-shifted (and optionally zero-terminal-SNR
/// rescaled) <c>alphas_cumprod</c> — float64 for scaled_linear betas, float32 otherwise, as in diffusers — the
/// timestep spacing, and the x0 prediction.
/// </summary>
internal sealed class CogVideoXNoiseSchedule
{
    public CogVideoXSchedulerConfig Config { get; }
    public Tensor AlphasCumprod { get; }
    /// <summary>diffusers' <c>torch.tensor(1.0)</c> (float32) or <c>alphas_cumprod[0]</c>.</summary>
    public Tensor FinalAlphaCumprod { get; }

    public CogVideoXNoiseSchedule(CogVideoXSchedulerConfig config)
    {
        Config = config;
        using var scope = torch.NewDisposeScope();
        int n = config.num_train_timesteps;
        // scaled_linear: diffusers builds these betas in float64 (unlike its other schedulers).
        var betas = torch.linspace(Math.Pow(config.beta_start, 0.5), Math.Pow(config.beta_end, 0.5), n, ScalarType.Float64).pow(2);
        var alphas = 1.0 - betas;
        var cumprod = torch.cumprod(alphas, 0);
        double snr = config.snr_shift_scale;
        cumprod = cumprod / (snr + (1 - snr) * cumprod);
        if (config.rescale_betas_zero_snr) cumprod = RescaleZeroTerminalSnr(cumprod);
        AlphasCumprod = cumprod.DetachFromDisposeScope();
        FinalAlphaCumprod = (config.set_alpha_to_one ? torch.tensor(1.0f) : cumprod[0].clone()).DetachFromDisposeScope();
    }

    private static Tensor RescaleZeroTerminalSnr(Tensor alphasCumprod)
    {
        var sqrt = alphasCumprod.sqrt();
        var first = sqrt[0].clone();
        var last = sqrt[-1].clone();
        sqrt.sub_(last);
        sqrt.mul_(first / (first - last));
        return sqrt.pow(2);
    }

    public long[] Timesteps(int numInferenceSteps)
    {
        int n = Config.num_train_timesteps;
        if (numInferenceSteps < 1 || numInferenceSteps > n)
            throw new VDiTLensException($"num_inference_steps {numInferenceSteps}: this scheduler takes 1..{n} steps (its num_train_timesteps)");
        switch (Config.timestep_spacing)
        {
            case "linspace":
                return NumpyCompat.RoundToInt64(NumpyCompat.Linspace(0, n - 1, numInferenceSteps).Reverse());
            case "leading":
            {
                int ratio = n / numInferenceSteps;
                return Enumerable.Range(0, numInferenceSteps).Reverse().Select(i => (long)i * ratio + Config.steps_offset).ToArray();
            }
            default: // trailing
            {
                double ratio = (double)n / numInferenceSteps;
                return NumpyCompat.RoundToInt64(NumpyCompat.Arange(n, 0, -ratio)).Select(t => t - 1).ToArray();
            }
        }
    }

    /// <summary>alphas_cumprod at <paramref name="timestep"/>, or the final value for a negative one.</summary>
    public Tensor AlphaProd(long timestep) => timestep >= 0 ? AlphasCumprod[timestep] : FinalAlphaCumprod;

    /// <summary>x0 from a v-prediction: √ᾱ·x − √(1−ᾱ)·v.</summary>
    public static Tensor PredictOriginalSample(Tensor modelOutput, Tensor sample, Tensor alphaProdT) =>
        alphaProdT.pow(0.5) * sample - (1 - alphaProdT).pow(0.5) * modelOutput;
}
