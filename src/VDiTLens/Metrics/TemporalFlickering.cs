using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// VBench's temporal-flickering score, exactly as its formula: frames quantised to 8 bits (VBench reads decoded 8-bit
/// frames), the mean absolute difference of every consecutive pair over all pixels and channels (MAE on 0–255),
/// averaged over the pairs, and score = (255 − mean MAE) / 255. 1 = no change between frames. VBench applies it to
/// videos of static scenes only: on moving content it measures motion as much as flicker.
/// </summary>
public static class TemporalFlickering
{
    /// <summary>The score of each video of a batch [B, F, H, W, C] with values in [0, 1].</summary>
    public static double[] PerVideo(Tensor videos)
    {
        if (videos.dim() != 5 || videos.shape[1] < 2)
            throw new VDiTLensException($"temporal flickering needs videos [B, F, H, W, C] with F ≥ 2 frames; got [{string.Join(", ", videos.shape)}]");
        using var scope = torch.NewDisposeScope();
        var bytes = EightBit(videos);
        long f = bytes.shape[1];
        var mae = (bytes.narrow(1, 1, f - 1) - bytes.narrow(1, 0, f - 1)).abs().flatten(2).mean(new long[] { 2 }); // [B, F − 1]
        var score = (255.0 - mae.mean(new long[] { 1 })) / 255.0;
        return score.data<double>().ToArray();
    }

    /// <summary>Values in [0, 1] as the 8-bit levels a video file stores: round(clamp(x, 0, 1) · 255), as float64.</summary>
    public static Tensor EightBit(Tensor videos) =>
        (videos.detach().cpu().to(ScalarType.Float64).clamp(0, 1) * 255).round();
}
