using VDiTLens.Pipelines;
using VDiTLens.Studies;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Studies;

/// <summary>What the studies record of a first-frame image: its values' hash, in the settings a shard or resumed run must match.</summary>
public sealed class GenerationSettingsTests
{
    [Fact]
    public void The_image_hash_follows_the_values_not_the_tensor()
    {
        VDiTLens.Runtime.TorchRuntime.Initialise();
        using var image = rand(1, 3, 4, 6);
        using var copy = image.clone();
        using var other = image.clone();
        other[0, 1, 2, 3] = other[0, 1, 2, 3] + 1e-3f;
        using var reshaped = image.reshape(1, 3, 6, 4);
        Assert.Null(GenerationSettings.ImageHash(null));
        Assert.StartsWith("sha256:", GenerationSettings.ImageHash(image));
        Assert.Equal(GenerationSettings.ImageHash(image), GenerationSettings.ImageHash(copy));
        Assert.NotEqual(GenerationSettings.ImageHash(image), GenerationSettings.ImageHash(other));
        Assert.NotEqual(GenerationSettings.ImageHash(image), GenerationSettings.ImageHash(reshaped));
    }

    [Fact]
    public void A_request_without_an_image_is_described_as_before_and_one_with_an_image_names_its_hash()
    {
        VDiTLens.Runtime.TorchRuntime.Initialise();
        using var image = rand(1, 3, 4, 6);
        var request = new GenerationRequest { Steps = 2, GuidanceScale = 3, Frames = 9, Height = 4, Width = 6, MaxSequenceLength = 16 };
        Assert.Equal("2|3|9|4|6|16|", GenerationSettings.Describe(request));
        Assert.Equal("2|3|9|4|6|16||image=" + GenerationSettings.ImageHash(image), GenerationSettings.Describe(request with { Image = image }));
        Assert.Equal(new Dictionary<string, string>(), new Dictionary<string, string>().WithImage(null));
        Assert.Equal(GenerationSettings.ImageHash(image), new Dictionary<string, string>().WithImage(image)["image"]);
    }
}
