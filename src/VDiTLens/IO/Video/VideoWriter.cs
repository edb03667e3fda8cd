using static TorchSharp.torch;

namespace VDiTLens.IO.Video;

/// <summary>
/// Writes generated videos [B, F, H, W, 3] in [0, 1] by the output file's extension: <c>.mp4</c> through ffmpeg when
/// it is on PATH (otherwise an animated <c>.gif</c> beside it), <c>.gif</c>, <c>.png</c> (one file per frame) or
/// <c>.safetensors</c> (the float frames under key <c>video</c>). With several videos, image formats get one file per
/// video (<c>name_0.mp4</c>, <c>name_1.mp4</c>, …).
/// </summary>
public static class VideoWriter
{
    public static readonly string[] Extensions = { ".mp4", ".gif", ".png", ".safetensors" };

    /// <summary>Writes the videos; returns the files written.</summary>
    public static IReadOnlyList<string> Write(string path, Tensor videos, double fps = 16)
    {
        if (videos.dim() != 5 || videos.shape[4] != 3)
            throw new VDiTLensException($"videos must be [batch, frames, height, width, 3]; got [{string.Join(", ", videos.shape)}]");
        if (!(fps > 0)) throw new VDiTLensException($"fps = {fps}: must be positive");
        string extension = Path.GetExtension(path).ToLowerInvariant();
        if (!Extensions.Contains(extension))
            throw new VDiTLensException($"{path}: unknown output format '{extension}' (use {string.Join(", ", Extensions)})");
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        if (extension == ".safetensors")
        {
            SafeTensorsWriter.Save(path, new Dictionary<string, Tensor> { ["video"] = videos });
            return new[] { path };
        }

        var written = new List<string>();
        long batch = videos.shape[0];
        string? ffmpeg = extension == ".mp4" ? FfmpegWriter.Locate() : null;
        for (long b = 0; b < batch; b++)
        {
            string target = batch == 1 ? path : Path.Combine(Path.GetDirectoryName(path) ?? "", $"{Path.GetFileNameWithoutExtension(path)}_{b}{extension}");
            using var one = videos[b];
            var frames = RgbFrames.FromTensor(one);
            switch (extension)
            {
                case ".mp4" when ffmpeg is not null:
                    FfmpegWriter.Write(ffmpeg, target, frames, fps);
                    written.Add(target);
                    break;
                case ".mp4":
                case ".gif":
                    string gif = Path.ChangeExtension(target, ".gif");
                    GifWriter.WriteRgb(gif, frames.Width, frames.Height, frames.Frames, GifDelay(fps));
                    written.Add(gif);
                    break;
                case ".png":
                    for (int f = 0; f < frames.Frames.Count; f++)
                    {
                        string png = Path.Combine(Path.GetDirectoryName(target) ?? "", $"{Path.GetFileNameWithoutExtension(target)}_{f:D3}.png");
                        PngWriter.WriteRgb(png, frames.Width, frames.Height, frames.Frames[f]);
                        written.Add(png);
                    }
                    break;
            }
        }
        return written;
    }

    /// <summary>GIF delays are whole centiseconds; below 2 many viewers play at their own default speed.</summary>
    public static int GifDelay(double fps) => (int)Math.Clamp(Math.Round(100.0 / fps), 2, ushort.MaxValue);
}
