using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.IO.Video;

/// <summary>One video as 8-bit RGB frames (row-major, 3 bytes per pixel).</summary>
public sealed record RgbFrames(int Width, int Height, IReadOnlyList<byte[]> Frames)
{
    /// <summary>
    /// Video [F, H, W, 3] with values in [0, 1] → bytes, as diffusers' numpy_to_pil does: round(x · 255).
    /// </summary>
    public static RgbFrames FromTensor(Tensor video)
    {
        if (video.dim() != 4 || video.shape[3] != 3)
            throw new VDiTLensException($"a video must be [frames, height, width, 3]; got [{string.Join(", ", video.shape)}]");
        using var scope = torch.NewDisposeScope();
        var bytes = (video.to(ScalarType.Float32).cpu().clamp(0.0, 1.0) * 255).round().to(ScalarType.Byte).contiguous();
        int frames = (int)video.shape[0], height = (int)video.shape[1], width = (int)video.shape[2];
        var all = bytes.data<byte>().ToArray();
        int size = height * width * 3;
        var list = new byte[frames][];
        for (int f = 0; f < frames; f++) list[f] = all.AsSpan(f * size, size).ToArray();
        return new RgbFrames(width, height, list);
    }
}
