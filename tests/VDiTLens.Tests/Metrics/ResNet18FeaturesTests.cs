using TorchSharp;
using VDiTLens.Metrics;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Metrics;

public sealed class ResNet18FeaturesTests(ITestOutputHelper output)
{
    [Fact]
    public void Loads_the_packaged_network_and_gives_deterministic_512_d_pooled_features()
    {
        using var network = ResNet18Features.Load();
        var frames = new SyntheticTexture(5).Pan(2, 40, 56, 3, 0);
        var a = network.Of(frames);
        var b = network.Of(frames);
        Assert.Equal(new long[] { 2, 512 }, a.shape);
        Assert.Equal(ScalarType.Float64, a.dtype);
        Assert.True((a == b).all().item<bool>(), "two runs on the same frames differ");
        Assert.True((a >= 0).all().item<bool>(), "pooled ReLU features cannot be negative");
        double cos = ResNet18Distances.CosineDistance(a[..1], a[1..]);
        output.WriteLine($"feature norms {a[0].norm().item<double>():F2}, {a[1].norm().item<double>():F2}; cosine distance between two frames of a pan {cos:F4}");
        Assert.InRange(cos, 1e-6, 0.5);
        Assert.Throws<VDiTLensException>(() => network.Of(torch.zeros(1, 8, 8, 4)));
    }

    [Fact]
    public void Prepares_frames_as_the_package_expects_bgr_planes_on_0_to_255_centre_cropped()
    {
        var frame = torch.zeros(new long[] { 1, 224, 300, 3 }, ScalarType.Float64);
        frame[.., .., .., 0] = 1.0; // pure red
        frame[.., .., ..38, 2] = 1.0; // a blue band that the centre crop removes
        var input = ResNet18Features.NetworkInput(frame);
        Assert.Equal(new long[] { 1, 3, 224, 224 }, input.shape);
        Assert.Equal(0.0, input[0, 0].abs().max().item<float>());   // B plane: crop removed the band
        Assert.Equal(0.0, input[0, 1].abs().max().item<float>());   // G plane
        Assert.Equal(255.0, input[0, 2].min().item<float>(), 4);     // R plane
    }

    [Fact]
    public void A_missing_model_folder_is_named_with_the_package()
    {
        var error = Assert.Throws<VDiTLensException>(() => ResNet18Features.ModelFolder(Path.GetTempPath()));
        Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18", error.Message);
    }
}
