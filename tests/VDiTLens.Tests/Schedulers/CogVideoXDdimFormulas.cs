using TorchSharp;
using VDiTLens.Schedulers;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Schedulers;

/// <summary>
/// CogVideoXDDIMScheduler's formulas written out in double arithmetic, independently of the port: scaled_linear betas,
/// ᾱ' = ᾱ / (s + (1 − s) ᾱ), zero-terminal-SNR rescale, trailing spacing round(arange(T, 0, −T/N)) − 1 (half to even),
/// x0 = √ᾱ_t x − √(1−ᾱ_t) v, x_prev = √((1−ᾱ_p)/(1−ᾱ_t)) x + (√ᾱ_p − √ᾱ_t √((1−ᾱ_p)/(1−ᾱ_t))) x0.
/// </summary>
internal static class CogVideoXDdimFormulas
{
    public static double[] AlphasCumprod(CogVideoXSchedulerConfig c)
    {
        int n = c.num_train_timesteps;
        double a = Math.Sqrt(c.beta_start), b = Math.Sqrt(c.beta_end);
        var cumprod = new double[n];
        double product = 1;
        for (int i = 0; i < n; i++)
        {
            double root = a + (b - a) * i / (n - 1);
            product *= 1 - root * root;
            cumprod[i] = product / (c.snr_shift_scale + (1 - c.snr_shift_scale) * product);
        }
        if (!c.rescale_betas_zero_snr) return cumprod;
        double first = Math.Sqrt(cumprod[0]), last = Math.Sqrt(cumprod[n - 1]);
        return cumprod.Select(v => Math.Pow((Math.Sqrt(v) - last) * first / (first - last), 2)).ToArray();
    }

    public static long[] TrailingTimesteps(int trainSteps, int steps)
    {
        double ratio = (double)trainSteps / steps;
        int count = (int)Math.Ceiling((0.0 - trainSteps) / -ratio); // numpy's arange length
        return Enumerable.Range(0, count).Select(k => (long)Math.Round(trainSteps - k * ratio, MidpointRounding.ToEven) - 1).ToArray();
    }

    /// <summary>One step on float64 tensors; <paramref name="previous"/> &lt; 0 uses ᾱ = 1 (set_alpha_to_one).</summary>
    public static Tensor Step(double[] alphasCumprod, long timestep, long previous, Tensor v, Tensor x)
    {
        double at = alphasCumprod[timestep], ap = previous >= 0 ? alphasCumprod[previous] : 1.0;
        var x0 = Math.Sqrt(at) * x - Math.Sqrt(1 - at) * v;
        double aT = Math.Sqrt((1 - ap) / (1 - at));
        return aT * x + (Math.Sqrt(ap) - Math.Sqrt(at) * aT) * x0;
    }
}
