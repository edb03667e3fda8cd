using TorchSharp;
using VDiTLens.Metrics;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Metrics;

public sealed class HornSchunckFlowTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1.5, -0.75)]
    [InlineData(-3.25, 2.5)]
    [InlineData(6.0, 4.0)] // needs the pyramid
    public void Recovers_a_known_translation_of_a_texture(double dx, double dy)
    {
        var texture = new SyntheticTexture(7);
        // window origin moves by (dx, dy): second(x − d) = first(x), so the flow first → second is −d
        var first = HornSchunckFlow.Luma(texture.Frame(64, 64, 0, 0).unsqueeze(0))[0];
        var second = HornSchunckFlow.Luma(texture.Frame(64, 64, dx, dy).unsqueeze(0))[0];
        var flow = HornSchunckFlow.Between(first, second);
        var interior = flow[.., 12..^12, 12..^12];
        double u = interior[0].median().item<double>(), v = interior[1].median().item<double>();
        double meanError = (interior[0] + dx).square().add((interior[1] + dy).square()).sqrt().mean().item<double>();
        output.WriteLine($"shift ({-dx}, {-dy}): median flow ({u:F3}, {v:F3}), mean endpoint error in the interior {meanError:F3} px");
        Assert.InRange(u, -dx - 0.1, -dx + 0.1);
        Assert.InRange(v, -dy - 0.1, -dy + 0.1);
        Assert.True(meanError < 0.3, $"mean endpoint error {meanError}");
    }

    [Fact]
    public void Warping_the_second_frame_by_the_flow_gives_back_the_first()
    {
        var texture = new SyntheticTexture(8);
        var frames = texture.Pan(2, 48, 48, 2.0, 1.0);
        var luma = HornSchunckFlow.Luma(frames);
        var flow = HornSchunckFlow.Between(luma[0], luma[1]);
        var (warped, inside) = HornSchunckFlow.Warp(frames[1].permute(2, 0, 1), flow);
        var error = (warped - frames[0].permute(2, 0, 1)).abs()[.., 8..^8, 8..^8].mean().item<double>();
        var unwarped = (frames[1] - frames[0]).abs()[8..^8, 8..^8].mean().item<double>();
        output.WriteLine($"MAE after warping {error:E2}, before {unwarped:E2}; inside share {inside.to(ScalarType.Float64).mean().item<double>():F3}");
        Assert.True(error < unwarped / 5, $"warped MAE {error} vs unwarped {unwarped}");
        Assert.False(inside.all().item<bool>()); // the pan moves content out at one border
    }
}
