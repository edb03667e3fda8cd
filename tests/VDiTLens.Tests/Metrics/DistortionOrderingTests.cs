using TorchSharp;
using VDiTLens.Metrics;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Metrics;

/// <summary>
/// Every metric on hand-made distortions of a textured clip at three increasing strengths: it must order them. Full-
/// reference metrics see all four distortions; each no-reference metric is checked on the distortion it is meant to
/// detect (flickering: per-frame noise on a static clip; dynamic degree: frozen frames; warping error: per-frame noise)
/// and, where it should not react, that it does not.
/// </summary>
public sealed class DistortionOrderingTests(ITestOutputHelper output)
{
    private const int Frames = 5, Side = 40;
    private static readonly Dictionary<string, double[]> Strengths = new()
    {
        ["blur σ"] = new[] { 0.5, 1.0, 2.0 },
        ["shift px"] = new[] { 1.0, 3.0, 6.0 },
        ["noise σ"] = new[] { 0.02, 0.05, 0.1 },
        ["frames dropped"] = new[] { 1.0, 2.0, 3.0 },
    };

    [Fact]
    public void Full_reference_metrics_order_the_strengths_of_each_distortion()
    {
        using var network = ResNet18Features.Load();
        var clip = new SyntheticTexture(21).Pan(Frames, Side, Side, 2, 1);
        var reference = clip.unsqueeze(0);
        foreach (var (name, strengths) in Strengths)
        {
            var rows = strengths.Select(s => Distort(clip, name, s).unsqueeze(0)).Select(d =>
            {
                var c = VideoQuality.Compare(reference, d, network);
                return (c.Psnr, c.Ssim, c.MsSsim, Feature: c.ResNet18FeatureDistance!.Value, Frechet: ResNet18Distances.FrechetDistance(network, reference, d));
            }).ToArray();
            for (int i = 0; i < rows.Length; i++)
                output.WriteLine($"{name} {strengths[i]}: PSNR {rows[i].Psnr:F2} dB, SSIM {rows[i].Ssim:F4}, MS-SSIM {rows[i].MsSsim:F4}, ResNet18 feature distance {rows[i].Feature:F5}, ResNet18 Fréchet {rows[i].Frechet:F3}");
            AssertDecreasing(rows.Select(r => r.Psnr), $"PSNR, {name}");
            AssertDecreasing(rows.Select(r => r.Ssim), $"SSIM, {name}");
            AssertDecreasing(rows.Select(r => r.MsSsim), $"MS-SSIM, {name}");
            AssertDecreasing(rows.Select(r => -r.Feature), $"ResNet18 feature distance, {name}");
            AssertDecreasing(rows.Select(r => -r.Frechet), $"ResNet18 Fréchet distance, {name}");
        }
    }

    [Fact]
    public void Temporal_flickering_falls_with_per_frame_noise_and_ignores_static_blur_and_shift()
    {
        var still = new SyntheticTexture(22).Pan(Frames, Side, Side, 0, 0);
        var noise = Strengths["noise σ"].Select(s => TemporalFlickering.PerVideo(Distort(still, "noise σ", s).unsqueeze(0))[0]).ToArray();
        output.WriteLine($"flickering, static clip: clean {TemporalFlickering.PerVideo(still.unsqueeze(0))[0]:F4}; noise {string.Join(" / ", noise.Select(v => v.ToString("F4")))}");
        AssertDecreasing(noise.Prepend(TemporalFlickering.PerVideo(still.unsqueeze(0))[0]), "flickering, noise");
        foreach (var name in new[] { "blur σ", "shift px" })
            foreach (var s in Strengths[name])
                Assert.Equal(1.0, TemporalFlickering.PerVideo(Distort(still, name, s).unsqueeze(0))[0], 12);
    }

    [Fact]
    public void Dynamic_degree_counts_fewer_moving_pairs_as_more_frames_freeze()
    {
        var clip = new SyntheticTexture(23).Pan(Frames, Side, Side, 2, 1);
        var shares = new[] { 0.0 }.Concat(Strengths["frames dropped"]).Select(k =>
        {
            using var flows = VideoFlow.Of(Distort(clip, "frames dropped", k));
            var d = DynamicDegree.FromFlows(flows.Forward);
            output.WriteLine($"{k} frames dropped: pair scores {string.Join(" / ", d.PairScores.Select(v => v.ToString("F2")))} px (threshold {d.Threshold:F3}), moving share {d.MovingPairFraction:F2}, dynamic {d.IsDynamic}");
            return d.MovingPairFraction;
        }).ToArray();
        AssertDecreasing(shares, "moving-pair share, frame drop");
        Assert.Equal(1.0, shares[0]);
        using var clean = VideoFlow.Of(clip);
        var scores = DynamicDegree.FromFlows(clean.Forward).PairScores;
        // the pan moves every pixel by √5 px; a classical flow can fail on single pairs (the top 5 % picks out its errors), so the median pair
        double median = scores.Order().ElementAt(scores.Count / 2);
        Assert.InRange(median, 0.8 * Math.Sqrt(5), 1.25 * Math.Sqrt(5));
    }

    [Fact]
    public void Warping_error_rises_with_per_frame_noise()
    {
        var clip = new SyntheticTexture(24).Pan(Frames, Side, Side, 2, 1);
        var errors = new[] { 0.0 }.Concat(Strengths["noise σ"]).Select(s =>
        {
            var video = Distort(clip, "noise σ", s);
            using var flows = VideoFlow.Of(video);
            return WarpingError.FromFlows(video, flows);
        }).ToArray();
        output.WriteLine($"warping error, noise 0 / 0.02 / 0.05 / 0.1: {string.Join(" / ", errors.Select(v => v.ToString("F4")))}");
        AssertDecreasing(errors.Select(e => -e), "warping error, noise");
    }

    private static void AssertDecreasing(IEnumerable<double> values, string what)
    {
        var v = values.ToArray();
        for (int i = 1; i < v.Length; i++)
            Assert.True(v[i] < v[i - 1], $"{what}: not strictly ordered ({string.Join(", ", v)})");
    }

    /// <summary>The clip [F, H, W, 3] with one distortion at one strength.</summary>
    internal static Tensor Distort(Tensor clip, string name, double strength) => name switch
    {
        "blur σ" => Blur(clip, strength),
        "shift px" => Shift(clip, (int)strength),
        "noise σ" => (clip + strength * torch.randn(clip.shape, ScalarType.Float64, generator: new Generator(99))).clamp(0, 1),
        "frames dropped" => Freeze(clip, (int)strength),
        _ => throw new ArgumentException(name),
    };

    /// <summary>Separable Gaussian blur of each frame, replicate borders.</summary>
    private static Tensor Blur(Tensor clip, double sigma)
    {
        int r = (int)Math.Ceiling(3 * sigma);
        var g = Enumerable.Range(-r, 2 * r + 1).Select(i => Math.Exp(-i * i / (2 * sigma * sigma))).ToArray();
        var kernel = torch.tensor(g.Select(v => v / g.Sum()).ToArray(), ScalarType.Float64);
        var x = clip.permute(0, 3, 1, 2).reshape(-1, 1, clip.shape[1], clip.shape[2]);
        x = nn.functional.pad(x, new long[] { r, r, r, r }, PaddingModes.Replicate);
        x = nn.functional.conv2d(nn.functional.conv2d(x, kernel.view(1, 1, 1, -1)), kernel.view(1, 1, -1, 1));
        return x.reshape(clip.shape[0], 3, clip.shape[1], clip.shape[2]).permute(0, 2, 3, 1);
    }

    /// <summary>Content moved right and down by <paramref name="s"/> pixels, black where nothing comes in (a misregistered frame).</summary>
    private static Tensor Shift(Tensor clip, int s)
    {
        var shifted = torch.zeros_like(clip);
        shifted[.., s.., s..] = clip[.., ..^s, ..^s];
        return shifted;
    }

    /// <summary>Frames 3, 1, 4 (the first <paramref name="k"/>) replaced by the frame before them: a stuttering, frozen playback.</summary>
    private static Tensor Freeze(Tensor clip, int k)
    {
        var frozen = clip.clone();
        foreach (var f in new[] { 3, 1, 4 }.Take(k)) frozen[f] = frozen[f - 1];
        return frozen;
    }
}
