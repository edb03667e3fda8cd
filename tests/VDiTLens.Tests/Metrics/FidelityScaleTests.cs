using TorchSharp;
using VDiTLens.Metrics;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Metrics;

public sealed class FidelityScaleTests
{
    [Fact]
    public void Normalised_degradation_is_zero_at_the_noise_floor_and_one_at_the_seed_spread()
    {
        var scale = FidelityScale.Checked(0.01, 0.41);
        Assert.Equal(0.0, scale.Normalise(0.01), 12);
        Assert.Equal(1.0, scale.Normalise(0.41), 12);
        Assert.Equal(0.5, scale.Normalise(0.21), 12);
        Assert.Equal(new ScaledFidelity(0.21, 0.01, 0.41, 0.5), scale.Scale(0.21) with { Normalised = Math.Round(scale.Scale(0.21).Normalised, 12) });
    }

    [Fact]
    public void Reads_the_same_for_a_similarity_where_larger_is_better()
    {
        // PSNR: noise floor 50 dB, another seed 15 dB, the intervention 32.5 dB → halfway
        Assert.Equal(0.5, FidelityScale.Checked(50, 15).Normalise(32.5), 12);
    }

    [Fact]
    public void Measures_both_distances_against_the_reference()
    {
        using var g = new Generator(2);
        var reference = torch.rand(new long[] { 1, 2, 4, 4, 3 }, ScalarType.Float64, generator: g);
        var noiseFloor = reference + 1e-3;
        var otherSeed = torch.rand(reference.shape, ScalarType.Float64, generator: g);
        var scale = FidelityScale.Measure(reference, noiseFloor, otherSeed, RelativeL2.Of);
        Assert.Equal(RelativeL2.Of(reference, noiseFloor), scale.NoiseFloor, 15);
        Assert.Equal(RelativeL2.Of(reference, otherSeed), scale.SeedSpread, 15);
        Assert.Throws<VDiTLensException>(() => FidelityScale.Measure(reference, reference, otherSeed, (a, b) => Psnr.MeanOverVideos(a, b)));
        Assert.Throws<VDiTLensException>(() => FidelityScale.Checked(0.2, 0.2));
    }
}
