namespace VDiTLens.IO.Video;

/// <summary>
/// Animated GIF89a: one global 256-colour palette (3-3-2 bits of red, green, blue), a looping NETSCAPE2.0
/// extension, and per frame a graphic control extension (delay) and an LZW-coded image.
/// </summary>
public static class GifWriter
{
    /// <summary>The fixed palette: index = r3 &lt;&lt; 5 | g3 &lt;&lt; 2 | b2.</summary>
    public static byte[] Palette { get; } = BuildPalette();

    public static void Write(string path, RgbFrames video, double fps)
    {
        using var stream = File.Create(path);
        Write(stream, video, fps);
    }

    public static void Write(Stream stream, RgbFrames video, double fps)
    {
        if (video.Width > ushort.MaxValue || video.Height > ushort.MaxValue)
            throw new VDiTLensException($"GIF frames are at most 65535 pixels wide and high; got {video.Width} × {video.Height}");
        using var w = new BinaryWriter(stream, System.Text.Encoding.ASCII, leaveOpen: true);
        w.Write("GIF89a"u8);
        w.Write((ushort)video.Width);
        w.Write((ushort)video.Height);
        w.Write((byte)0xF7); // global colour table present, 8 bits colour resolution, 256 entries
        w.Write((byte)0);    // background colour index
        w.Write((byte)0);    // pixel aspect ratio: unspecified
        w.Write(Palette);
        // NETSCAPE2.0 application extension: loop forever
        w.Write(new byte[] { 0x21, 0xFF, 0x0B });
        w.Write("NETSCAPE2.0"u8);
        w.Write(new byte[] { 0x03, 0x01, 0x00, 0x00, 0x00 });
        ushort delay = (ushort)Math.Clamp(Math.Round(100.0 / fps), 2, ushort.MaxValue);
        foreach (var frame in video.Frames)
        {
            w.Write(new byte[] { 0x21, 0xF9, 0x04, 0x00 }); // graphic control extension, no transparency
            w.Write(delay);
            w.Write(new byte[] { 0x00, 0x00 });
            w.Write((byte)0x2C); // image descriptor
            w.Write((ushort)0);
            w.Write((ushort)0);
            w.Write((ushort)video.Width);
            w.Write((ushort)video.Height);
            w.Write((byte)0x00); // no local colour table, not interlaced
            w.Write((byte)GifLzwEncoder.LiteralWidth);
            var data = GifLzwEncoder.Encode(Quantize(frame));
            for (int offset = 0; offset < data.Length; offset += 255)
            {
                int length = Math.Min(255, data.Length - offset);
                w.Write((byte)length);
                w.Write(data, offset, length);
            }
            w.Write((byte)0); // block terminator
        }
        w.Write((byte)0x3B); // trailer
    }

    /// <summary>RGB24 → palette indices, each channel rounded to its nearest palette level.</summary>
    public static byte[] Quantize(byte[] rgb)
    {
        var indices = new byte[rgb.Length / 3];
        for (int i = 0; i < indices.Length; i++)
        {
            int r = (rgb[3 * i] * 7 + 127) / 255, g = (rgb[3 * i + 1] * 7 + 127) / 255, b = (rgb[3 * i + 2] * 3 + 127) / 255;
            indices[i] = (byte)((r << 5) | (g << 2) | b);
        }
        return indices;
    }

    private static byte[] BuildPalette()
    {
        var palette = new byte[256 * 3];
        for (int i = 0; i < 256; i++)
        {
            palette[3 * i] = (byte)Math.Round((i >> 5) * 255 / 7.0);
            palette[3 * i + 1] = (byte)Math.Round(((i >> 2) & 7) * 255 / 7.0);
            palette[3 * i + 2] = (byte)Math.Round((i & 3) * 255 / 3.0);
        }
        return palette;
    }
}
