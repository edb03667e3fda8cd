using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// Temporal warping error of one video (no reference): frame t+1 warped back to frame t with the video's own
/// Horn–Schunck flow t → t+1, and the mean absolute difference to frame t over RGB and the valid pixels, averaged over
/// pairs; values in [0, 1] units. Valid pixels sample inside the frame and pass the forward–backward check
/// |w_f + w_b(x + w_f)|² ≤ 0.01 (|w_f|² + |w_b(x + w_f)|²) + 0.5 (Sundaram et al. 2010), which masks occlusions.
/// Lai et al. (2018) define the warping error with a learned flow (FlowNet2) and the squared error; this is the
/// classical-flow, absolute-error variant.
/// </summary>
public static class WarpingError
{
    /// <summary>The warping error of a video [F, H, W, 3] given its flows.</summary>
    public static double FromFlows(Tensor video, VideoFlow flows)
    {
        if (video.dim() != 4 || video.shape[0] - 1 != flows.Forward.shape[0])
            throw new VDiTLensException($"warping error needs one video [F, H, W, 3] and its F − 1 flows; got [{string.Join(", ", video.shape)}] and {flows.Forward.shape[0]} flows");
        using var scope = torch.NewDisposeScope();
        var frames = video.detach().cpu().to(ScalarType.Float64).permute(0, 3, 1, 2); // [F, 3, H, W]
        double total = 0;
        long pairs = flows.Forward.shape[0];
        for (long t = 0; t < pairs; t++)
        {
            var forward = flows.Forward[t];
            var (warped, inside) = HornSchunckFlow.Warp(frames[t + 1], forward);
            var (backAtTarget, _) = HornSchunckFlow.Warp(flows.Backward[t], forward);
            var roundTrip = (forward + backAtTarget).square().sum(new long[] { 0 });
            var consistent = roundTrip <= 0.01 * (forward.square().sum(new long[] { 0 }) + backAtTarget.square().sum(new long[] { 0 })) + 0.5;
            var mask = (inside & consistent).to(ScalarType.Float64);
            double valid = mask.sum().item<double>();
            if (valid == 0) throw new VDiTLensException($"warping error: no valid pixel in frame pair {t} (all occluded or out of frame)");
            total += ((warped - frames[t]).abs().mean(new long[] { 0 }) * mask).sum().item<double>() / valid;
        }
        return total / pairs;
    }
}
