using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// Distances on <see cref="ResNet18Features"/> (global-pool, 512-d) of video frames. "ResNet18 feature distance" is
/// the mean over frames of the cosine distance 1 − cos(f_reference, f_test) of corresponding frames: a deep-feature
/// distance in the spirit of Zhang et al. (2018), but with pooled features and without LPIPS's learned calibration, so
/// it is not LPIPS. "ResNet18 Fréchet distance" is <see cref="FrechetDistance"/> between the per-frame feature sets of
/// two groups of videos: a frame-level FID-style proxy with no temporal features, so it is not FVD.
/// </summary>
public static class ResNet18Distances
{
    /// <summary>Mean over corresponding frames of 1 − cos of their features; videos [B, F, H, W, 3] in [0, 1].</summary>
    public static double FeatureDistance(ResNet18Features network, Tensor reference, Tensor test)
    {
        Shapes.CheckSame(reference, test, "ResNet18 feature distance");
        using var scope = torch.NewDisposeScope();
        var a = network.Of(AllFrames(reference, "ResNet18 feature distance"));
        var b = network.Of(AllFrames(test, "ResNet18 feature distance"));
        return CosineDistance(a, b);
    }

    /// <summary>Mean of 1 − cos over rows of two feature sets [N, D].</summary>
    public static double CosineDistance(Tensor a, Tensor b)
    {
        using var scope = torch.NewDisposeScope();
        var cos = nn.functional.cosine_similarity(a.to(ScalarType.Float64), b.to(ScalarType.Float64), dim: 1, eps: 1e-12);
        return (1 - cos).mean().item<double>();
    }

    /// <summary>Fréchet distance between the frame features of two groups of videos [B, F, H, W, 3] (sizes may differ; ≥ 2 frames each).</summary>
    public static double FrechetDistance(ResNet18Features network, Tensor reference, Tensor test)
    {
        using var scope = torch.NewDisposeScope();
        return Metrics.FrechetDistance.Of(network.Of(AllFrames(reference, "ResNet18 Fréchet distance")), network.Of(AllFrames(test, "ResNet18 Fréchet distance")));
    }

    private static Tensor AllFrames(Tensor videos, string metric)
    {
        if (videos.dim() != 5 || videos.shape[4] != 3)
            throw new VDiTLensException($"{metric} needs videos [B, F, H, W, 3]; got [{string.Join(", ", videos.shape)}]");
        return videos.reshape(-1, videos.shape[2], videos.shape[3], 3);
    }
}
