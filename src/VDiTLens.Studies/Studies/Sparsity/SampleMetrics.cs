using TorchSharp;
using VDiTLens.Metrics;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// Per-sample fidelity of a generation against the dense reference of the same prompts and seed (batch item i against
/// item i): final-latent relative L2, PSNR (<see cref="Psnr.PerVideo"/>, the project's one definition), SSIM, MS-SSIM,
/// the sample's VBench temporal flickering beside the dense one, and the ResNet18 feature distance when a network is given.
/// </summary>
public sealed class SampleMetrics(GeneratedSample reference, ResNet18Features? network)
{
    private readonly double[] _denseFlicker = TemporalFlickering.PerVideo(reference.Video);

    public IEnumerable<SampleRow> Rows(string arm, double? level, IReadOnlyList<int> denseLayers, long seed, GeneratedSample sample)
    {
        var latent = LatentRelativeL2(reference.Latents, sample.Latents);
        var psnr = Psnr.PerVideo(reference.Video, sample.Video);
        var flicker = TemporalFlickering.PerVideo(sample.Video);
        string layers = string.Join(" ", denseLayers);
        for (int i = 0; i < latent.Length; i++)
        {
            using var scope = torch.NewDisposeScope();
            var a = reference.Video.narrow(0, i, 1);
            var b = sample.Video.narrow(0, i, 1);
            yield return new SampleRow(arm, level, layers, i, seed, latent[i], psnr[i], Ssim.OfVideo(a, b), MsSsim.OfVideo(a, b),
                flicker[i], _denseFlicker[i], network is null ? null : ResNet18Distances.FeatureDistance(network, a, b));
        }
    }

    /// <summary>‖test_i − reference_i‖ / ‖reference_i‖ of each batch item i (dim 0), in float64.</summary>
    public static double[] LatentRelativeL2(Tensor reference, Tensor test)
    {
        Shapes.CheckSame(reference, test, "latent relative L2");
        using var scope = torch.NewDisposeScope();
        var r = reference.to(ScalarType.Float64).cpu().flatten(1);
        var change = (test.to(ScalarType.Float64).cpu().flatten(1) - r).square().sum(1).sqrt() / r.square().sum(1).sqrt();
        return change.data<double>().ToArray();
    }
}
