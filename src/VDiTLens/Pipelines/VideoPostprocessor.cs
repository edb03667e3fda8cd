using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>diffusers' <c>VideoProcessor.postprocess_video(output_type="np")</c>, shared by the pipelines.</summary>
public static class VideoPostprocessor
{
    /// <summary>
    /// Decoded pixels [B, 3, F, H, W] in about [-1, 1] → video [B, F, H, W, 3] float32 in [0, 1] on the CPU
    /// (x / 2 + 0.5 clamped); <paramref name="source"/> names what produced them for the non-finite message.
    /// </summary>
    public static Tensor ToVideo(Tensor pixels, string source)
    {
        using var scope = torch.NewDisposeScope();
        if (!pixels.isfinite().all().item<bool>())
            throw new VDiTLensException(source);
        var video = (pixels / 2 + 0.5).clamp(0.0, 1.0).permute(0, 2, 3, 4, 1).to(ScalarType.Float32).cpu().contiguous();
        return video.MoveToOuterDisposeScope();
    }
}
