using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>Full-reference comparison of test videos with their references (PSNR, SSIM, MS-SSIM and, when a network is given, the ResNet18 feature distance).</summary>
public sealed record VideoComparison(double Psnr, double Ssim, double MsSsim, int MsSsimScales, double? ResNet18FeatureDistance);

/// <summary>No-reference measures of one video: VBench temporal flickering, the classical-flow dynamic degree and the warping error.</summary>
public sealed record VideoSelfQuality(double TemporalFlickering, DynamicDegree DynamicDegree, double WarpingError);

/// <summary>
/// The video quality measures of <c>Metrics/</c> in one place (definitions and validation in docs/metrics.md). Videos
/// are channels-last in [0, 1], as pipelines return them. Every fidelity number is best read against a
/// <see cref="FidelityScale"/> (noise floor and seed spread, measured with the same function).
/// </summary>
public static class VideoQuality
{
    /// <summary>Compares videos [B, F, H, W, 3] with their references of the same shape.</summary>
    public static VideoComparison Compare(Tensor reference, Tensor test, ResNet18Features? network = null) =>
        new(Psnr.MeanOverVideos(reference, test),
            Ssim.OfVideo(reference, test),
            MsSsim.OfVideo(reference, test),
            MsSsim.ScalesFor(reference.shape[2], reference.shape[3]),
            network is null ? null : ResNet18Distances.FeatureDistance(network, reference, test));

    /// <summary>Assesses one video [F, H, W, 3] (F ≥ 2) sampled at <paramref name="fps"/> frames per second.</summary>
    public static VideoSelfQuality Assess(Tensor video, double fps = 8, HornSchunckOptions? options = null)
    {
        using var flows = VideoFlow.Of(video, options);
        return new VideoSelfQuality(
            TemporalFlickering.PerVideo(video.unsqueeze(0))[0],
            DynamicDegree.FromFlows(flows.Forward, fps),
            WarpingError.FromFlows(video, flows));
    }
}
