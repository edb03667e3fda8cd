using TorchSharp;
using VDiTLens.IO.Video;
using static TorchSharp.torch;

namespace VDiTLens.Reports;

/// <summary>Pictures of clips [frames, 3, height, width] with values in [-1, 1]: PNG frames, a contact sheet, an animated GIF.</summary>
public static class ClipPictures
{
    /// <summary>Grey of the gaps between frames on a contact sheet.</summary>
    public const byte GapGrey = 64;

    /// <summary>Per-frame RGB bytes (height·scale × width·scale × 3, row-major), nearest-neighbour upscaled by <paramref name="scale"/>.</summary>
    public static IReadOnlyList<byte[]> ToRgbFrames(Tensor clip, int scale = 1)
    {
        var (frames, height, width) = CheckLayout(clip);
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be at least 1");
        float[] values;
        using (var cpu = clip.detach().to(ScalarType.Float32).cpu().contiguous())
            values = frames == 0 ? Array.Empty<float>() : cpu.data<float>().ToArray();

        int plane = height * width, outWidth = width * scale, outHeight = height * scale;
        var result = new List<byte[]>(frames);
        for (int f = 0; f < frames; f++)
        {
            var rgb = new byte[outHeight * outWidth * 3];
            for (int y = 0; y < outHeight; y++)
            for (int x = 0; x < outWidth; x++)
            for (int c = 0; c < 3; c++)
                rgb[(y * outWidth + x) * 3 + c] = ToByte(values[(f * 3 + c) * plane + y / scale * width + x / scale]);
            result.Add(rgb);
        }
        return result;
    }

    /// <summary>Writes <c>{stem}_{frame:000}.png</c> per frame into <paramref name="folder"/>; returns the paths.</summary>
    public static IReadOnlyList<string> WriteFramePngs(Tensor clip, string folder, string stem = "frame", int scale = 1)
    {
        var (_, height, width) = CheckLayout(clip);
        var frames = ToRgbFrames(clip, scale);
        var paths = new List<string>();
        for (int f = 0; f < frames.Count; f++)
        {
            string path = Path.Combine(folder, $"{stem}_{f:000}.png");
            PngWriter.WriteRgb(path, width * scale, height * scale, frames[f]);
            paths.Add(path);
        }
        return paths;
    }

    /// <summary>
    /// One PNG with a row per clip and a column per frame, separated by <paramref name="gap"/>-pixel grey lines.
    /// All clips must share frame count and size.
    /// </summary>
    public static void WriteContactSheet(IReadOnlyList<Tensor> clips, string path, int scale = 4, int gap = 1)
    {
        var (width, height, rgb) = ContactSheet(clips, scale, gap);
        PngWriter.WriteRgb(path, width, height, rgb);
    }

    /// <summary>The contact sheet of <see cref="WriteContactSheet"/> as RGB bytes.</summary>
    public static (int Width, int Height, byte[] Rgb) ContactSheet(IReadOnlyList<Tensor> clips, int scale = 4, int gap = 1)
    {
        if (clips.Count == 0) throw new ArgumentException("contact sheet needs at least one clip");
        var (frames, height, width) = CheckLayout(clips[0]);
        if (frames == 0) throw new ArgumentException("contact sheet needs clips with at least one frame");
        int cellW = width * scale, cellH = height * scale;
        int sheetW = frames * cellW + (frames - 1) * gap, sheetH = clips.Count * cellH + (clips.Count - 1) * gap;
        var sheet = new byte[sheetW * sheetH * 3];
        Array.Fill(sheet, GapGrey);
        for (int row = 0; row < clips.Count; row++)
        {
            if (CheckLayout(clips[row]) != (frames, height, width))
                throw new ArgumentException($"contact sheet clip {row} has shape [{string.Join(", ", clips[row].shape)}]; clip 0 has [{frames}, 3, {height}, {width}]");
            var rgbFrames = ToRgbFrames(clips[row], scale);
            for (int f = 0; f < frames; f++)
            {
                int left = f * (cellW + gap), top = row * (cellH + gap);
                for (int y = 0; y < cellH; y++)
                    Array.Copy(rgbFrames[f], y * cellW * 3, sheet, ((top + y) * sheetW + left) * 3, cellW * 3);
            }
        }
        return (sheetW, sheetH, sheet);
    }

    /// <summary>Writes the clip as a looping GIF (colours quantised to <see cref="GifWriter"/>'s 216-colour cube).</summary>
    public static void WriteGif(Tensor clip, string path, int scale = 4, int delayCentiseconds = 20)
    {
        var (_, height, width) = CheckLayout(clip);
        GifWriter.WriteRgb(path, width * scale, height * scale, ToRgbFrames(clip, scale), delayCentiseconds);
    }

    /// <summary>Maps [-1, 1] to 0..255 (rounded, clamped; NaN → 0).</summary>
    public static byte ToByte(float value)
    {
        if (float.IsNaN(value)) return 0;
        double scaled = Math.Round((value + 1) * 127.5);
        return (byte)Math.Clamp(scaled, 0, 255);
    }

    private static (int Frames, int Height, int Width) CheckLayout(Tensor clip)
    {
        if (clip.dim() != 4 || clip.shape[1] != 3)
            throw new VDiTLensException($"clip has shape [{string.Join(", ", clip.shape)}]; pictures need [frames, 3, height, width]");
        return ((int)clip.shape[0], (int)clip.shape[2], (int)clip.shape[3]);
    }
}
