using TorchSharp;
using VDiTLens.Metrics;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Metrics;

public sealed class TemporalFlickeringTests
{
    [Fact]
    public void Is_vbenchs_formula_on_8_bit_frames()
    {
        using var g = new Generator(9);
        var videos = torch.rand(new long[] { 2, 4, 5, 6, 3 }, ScalarType.Float64, generator: g);
        var bytes = videos.contiguous().data<double>().ToArray().Select(v => Math.Round(Math.Clamp(v, 0, 1) * 255, MidpointRounding.ToEven)).ToArray();
        int frame = 5 * 6 * 3;
        var scores = TemporalFlickering.PerVideo(videos);
        for (int b = 0; b < 2; b++)
        {
            double sumOfPairMae = 0;
            for (int t = 0; t < 3; t++)
            {
                double sum = 0;
                for (int i = 0; i < frame; i++) sum += Math.Abs(bytes[(b * 4 + t + 1) * frame + i] - bytes[(b * 4 + t) * frame + i]);
                sumOfPairMae += sum / frame;
            }
            Assert.Equal((255 - sumOfPairMae / 3) / 255, scores[b], 12);
        }
    }

    [Fact]
    public void Hand_computed_cases()
    {
        var black = torch.zeros(new long[] { 1, 1, 2, 2, 3 }, ScalarType.Float64);
        var white = torch.ones(new long[] { 1, 1, 2, 2, 3 }, ScalarType.Float64);
        Assert.Equal(0.0, TemporalFlickering.PerVideo(torch.cat(new[] { black, white }, 1))[0], 12); // MAE 255
        Assert.Equal(1.0, TemporalFlickering.PerVideo(torch.cat(new[] { white, white, white }, 1))[0], 12);
        // levels 100 and 110 alternating: MAE 10 on every pair
        var a = torch.full(new long[] { 1, 1, 2, 2, 3 }, 100 / 255.0, ScalarType.Float64);
        var b = torch.full(new long[] { 1, 1, 2, 2, 3 }, 110 / 255.0, ScalarType.Float64);
        Assert.Equal(245 / 255.0, TemporalFlickering.PerVideo(torch.cat(new[] { a, b, a, b }, 1))[0], 12);
        Assert.Throws<VDiTLensException>(() => TemporalFlickering.PerVideo(a));
    }
}
