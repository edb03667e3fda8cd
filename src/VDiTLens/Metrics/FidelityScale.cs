using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// The scale a fidelity number needs to be read: d_noise, the distance between the reference output and the same run
/// under a perturbation that should not matter (bf16 instead of fp32, another attention kernel; same seed), and
/// d_seed, the distance between the reference output and the same prompt at another seed. The normalised degradation
/// (d − d_noise) / (d_seed − d_noise) is 0 at the noise floor and 1 when an intervention moves the output as far as a
/// new seed does. The ratio is the same for distances (larger is worse) and similarities such as PSNR or SSIM
/// (smaller is worse), since numerator and denominator change sign together.
/// </summary>
public sealed record FidelityScale(double NoiseFloor, double SeedSpread)
{
    /// <summary>Measures both scales with one distance (e.g. <c>RelativeL2.Of</c>, <c>Psnr.MeanOverVideos</c>), each against <paramref name="reference"/>.</summary>
    public static FidelityScale Measure(Tensor reference, Tensor noiseFloorOutput, Tensor otherSeedOutput, Func<Tensor, Tensor, double> distance) =>
        Checked(distance(reference, noiseFloorOutput), distance(reference, otherSeedOutput));

    public static FidelityScale Checked(double noiseFloor, double seedSpread)
    {
        if (!double.IsFinite(noiseFloor) || !double.IsFinite(seedSpread))
            throw new VDiTLensException($"fidelity scale needs finite distances; got d_noise = {noiseFloor}, d_seed = {seedSpread} (identical outputs give PSNR +∞: use a noise-floor perturbation that changes the output, or a distance that is 0 for identical outputs)");
        if (seedSpread == noiseFloor)
            throw new VDiTLensException($"fidelity scale is degenerate: d_seed equals d_noise ({seedSpread}); the second seed must change the output more than the noise-floor perturbation");
        return new FidelityScale(noiseFloor, seedSpread);
    }

    /// <summary>(d − d_noise) / (d_seed − d_noise).</summary>
    public double Normalise(double distance) => (distance - NoiseFloor) / (SeedSpread - NoiseFloor);

    public ScaledFidelity Scale(double distance) => new(distance, NoiseFloor, SeedSpread, Normalise(distance));
}

/// <summary>One fidelity number with its scale: d, d_noise, d_seed and (d − d_noise) / (d_seed − d_noise).</summary>
public sealed record ScaledFidelity(double Value, double NoiseFloor, double SeedSpread, double Normalised);
