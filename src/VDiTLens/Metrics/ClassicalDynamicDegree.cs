using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// VBench's dynamic-degree rule applied to classical (Horn–Schunck) flow instead of RAFT. Per consecutive frame pair,
/// the mean flow magnitude of the 5 % fastest pixels; the video counts as dynamic when at least round(4·(F/16))
/// pairs exceed 6·(min(H, W)/256)·max(1, 8/fps) pixels. VBench samples videos at about 8 fps before this. Uncalibrated:
/// Horn–Schunck magnitudes are not RAFT's, so the verdict is this project's classical measure, not VBench's score.
/// </summary>
public sealed record DynamicDegree(IReadOnlyList<double> PairScores, double Threshold, int RequiredPairs)
{
    /// <summary>Mean over frame pairs of the top-5 % mean flow magnitude (pixels per frame): a continuous motion amount.</summary>
    public double MeanPairScore => PairScores.Average();

    /// <summary>Share of frame pairs above the threshold.</summary>
    public double MovingPairFraction => PairScores.Count(s => s > Threshold) / (double)PairScores.Count;

    /// <summary>VBench's verdict: at least <see cref="RequiredPairs"/> pairs above the threshold.</summary>
    public bool IsDynamic => PairScores.Count(s => s > Threshold) >= RequiredPairs;

    /// <summary>The rule on the forward flows [F − 1, 2, H, W] of a video of F frames at <paramref name="fps"/>.</summary>
    public static DynamicDegree FromFlows(Tensor forward, double fps = 8)
    {
        if (forward.dim() != 4 || forward.shape[1] != 2 || forward.shape[0] < 1)
            throw new VDiTLensException($"dynamic degree needs forward flows [F − 1, 2, H, W]; got [{string.Join(", ", forward.shape)}]");
        if (!(fps > 0)) throw new VDiTLensException($"dynamic degree needs fps > 0; got {fps}");
        long pairs = forward.shape[0], h = forward.shape[2], w = forward.shape[3];
        var scores = new double[pairs];
        for (long t = 0; t < pairs; t++)
        {
            using var flow = forward[t];
            scores[t] = TopShareMeanMagnitude(flow);
        }
        double threshold = Math.Max(1.0, 8.0 / fps) * 6.0 * (Math.Min(h, w) / 256.0);
        int required = (int)Math.Round(4 * ((pairs + 1) / 16.0), MidpointRounding.ToEven); // Python's round
        return new DynamicDegree(scores, threshold, required);
    }

    /// <summary>Mean magnitude of the int(0.05·H·W) largest flow vectors of a flow [2, H, W] (VBench's per-pair score).</summary>
    public static double TopShareMeanMagnitude(Tensor flow)
    {
        using var scope = torch.NewDisposeScope();
        var magnitude = flow.to(ScalarType.Float64).square().sum(new long[] { 0 }).sqrt().flatten();
        long count = (long)(magnitude.shape[0] * 0.05);
        if (count < 1) throw new VDiTLensException($"dynamic degree needs frames of at least 20 pixels; got {magnitude.shape[0]}");
        return magnitude.topk((int)count).values.mean().item<double>();
    }
}
