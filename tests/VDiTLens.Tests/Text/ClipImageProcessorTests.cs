using TorchSharp;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Text;

/// <summary>
/// The CLIP image processor and its Pillow resampler against Pillow itself (clip_image_processor fixture: Pillow's
/// Image.resize per filter, and the processor's resize / centre crop / rescale / normalise done with Pillow and numpy).
/// </summary>
public sealed class ClipImageProcessorTests
{
    private static readonly Dictionary<string, Tensor> Data = Fixtures.Load("clip_image_processor/inputs_outputs.safetensors");

    [Theory]
    [InlineData("lanczos", PilResample.Lanczos)]
    [InlineData("bilinear", PilResample.Bilinear)]
    [InlineData("bicubic", PilResample.Bicubic)]
    public void Resample_matches_pillow_byte_for_byte(string name, int filter)
    {
        var plane = Data["plane"];
        var bytes = plane.data<byte>().ToArray();
        foreach (var (h, w) in new[] { (17, 23), (60, 90), (37, 20) })
        {
            var expected = Data[$"resize_{name}_{h}x{w}"].data<byte>().ToArray();
            var actual = PilResample.Resize(bytes, 37, 53, h, w, filter);
            int differing = expected.Zip(actual).Count(p => p.First != p.Second);
            Assert.True(differing == 0, $"{name} {h}x{w}: {differing} of {expected.Length} bytes differ from Pillow");
        }
    }

    [Theory]
    [InlineData("crop")]
    [InlineData("shrink")]
    [InlineData("portrait")]
    [InlineData("grow")]
    public void Pixel_values_match_the_processor_steps(string key)
    {
        var processor = ClipImageProcessor.Read(Fixtures.Path("clip_image_processor"));
        using var image = Data[$"image_{key}"].to(ScalarType.Float32) / 255;
        using var pixels = processor.Preprocess(image);
        var expected = Data[$"pixel_values_{key}"];
        Assert.Equal(expected.shape, pixels.shape);
        double maxAbs = (pixels - expected).abs().max().item<float>();
        Assert.True(maxAbs <= 1e-6, $"{key}: max abs difference {maxAbs:E3}");
    }

    [Fact]
    public void Resize_target_keeps_the_aspect_ratio_with_the_shortest_edge_fixed()
    {
        var processor = new ClipImageProcessor { shortest_edge = 224 };
        Assert.Equal((224, 388), processor.ResizeTarget(480, 832));   // int(224 · 832 / 480) = int(388.27)
        Assert.Equal((398, 224), processor.ResizeTarget(832, 468));   // int(224 · 832 / 468) = int(398.22)
    }
}
