using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>Horn–Schunck flows of every consecutive frame pair of one video, forward (t → t+1) and backward (t+1 → t), [F − 1, 2, H, W].</summary>
public sealed record VideoFlow(Tensor Forward, Tensor Backward) : IDisposable
{
    /// <summary>Flows of a video [F, H, W, 3] in [0, 1] (F ≥ 2), computed on luma.</summary>
    public static VideoFlow Of(Tensor video, HornSchunckOptions? options = null)
    {
        if (video.dim() != 4 || video.shape[3] != 3 || video.shape[0] < 2)
            throw new VDiTLensException($"video flow needs one video [F, H, W, 3] with F ≥ 2; got [{string.Join(", ", video.shape)}]");
        using var luma = HornSchunckFlow.Luma(video);
        long pairs = video.shape[0] - 1;
        var forward = new Tensor[pairs];
        var backward = new Tensor[pairs];
        for (long t = 0; t < pairs; t++)
        {
            using var a = luma[t];
            using var b = luma[t + 1];
            forward[t] = HornSchunckFlow.Between(a, b, options);
            backward[t] = HornSchunckFlow.Between(b, a, options);
        }
        var result = new VideoFlow(torch.stack(forward), torch.stack(backward));
        foreach (var t in forward.Concat(backward)) t.Dispose();
        return result;
    }

    public void Dispose()
    {
        Forward.Dispose();
        Backward.Dispose();
    }
}
