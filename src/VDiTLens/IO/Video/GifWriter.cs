using System.Text;

namespace VDiTLens.IO.Video;

/// <summary>
/// Minimal animated GIF89a encoder: a fixed global 6×6×6 colour cube (216 colours, nearest level per channel),
/// one image per frame with a fixed delay, looping forever, LZW-compressed with 8-bit minimum code size.
/// </summary>
public static class GifWriter
{
    /// <summary>Levels per channel of the colour cube.</summary>
    public const int Levels = 6;

    /// <summary>Writes frames (each height × width × 3 RGB bytes, row-major) as a looping animation.</summary>
    public static void WriteRgb(string path, int width, int height, IReadOnlyList<byte[]> frames, int delayCentiseconds = 20)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllBytes(path, EncodeRgb(width, height, frames, delayCentiseconds));
    }

    /// <summary>The GIF file bytes of an animation.</summary>
    public static byte[] EncodeRgb(int width, int height, IReadOnlyList<byte[]> frames, int delayCentiseconds = 20)
    {
        if (width < 1 || height < 1 || width > ushort.MaxValue || height > ushort.MaxValue)
            throw new ArgumentException($"GIF size {width}×{height} is out of range");
        if (frames.Count == 0) throw new ArgumentException("GIF needs at least one frame");

        using var s = new MemoryStream();
        s.Write(Encoding.ASCII.GetBytes("GIF89a"));
        WriteU16(s, width);
        WriteU16(s, height);
        s.WriteByte(0xF7);  // global colour table present, 8-bit colour resolution, 256 entries
        s.WriteByte(0);     // background colour index
        s.WriteByte(0);     // pixel aspect ratio
        s.Write(Palette());

        // NETSCAPE2.0 application extension: loop forever.
        s.Write(new byte[] { 0x21, 0xFF, 0x0B });
        s.Write(Encoding.ASCII.GetBytes("NETSCAPE2.0"));
        s.Write(new byte[] { 0x03, 0x01, 0x00, 0x00, 0x00 });

        foreach (byte[] rgb in frames)
        {
            if (rgb.Length != (long)width * height * 3)
                throw new ArgumentException($"GIF frame of {width}×{height} needs {(long)width * height * 3} RGB bytes, got {rgb.Length}");
            s.Write(new byte[] { 0x21, 0xF9, 0x04, 0x00 });  // graphic control extension, no transparency
            WriteU16(s, delayCentiseconds);
            s.Write(new byte[] { 0x00, 0x00 });
            s.WriteByte(0x2C);  // image descriptor at (0, 0), no local table, not interlaced
            WriteU16(s, 0);
            WriteU16(s, 0);
            WriteU16(s, width);
            WriteU16(s, height);
            s.WriteByte(0);
            s.WriteByte(8);     // LZW minimum code size
            WriteSubBlocks(s, GifLzw.Encode(Quantise(rgb)));
        }
        s.WriteByte(0x3B);
        return s.ToArray();
    }

    /// <summary>Palette index of an RGB colour: nearest cube level per channel.</summary>
    public static byte IndexOf(byte r, byte g, byte b) => (byte)((Level(r) * Levels + Level(g)) * Levels + Level(b));

    /// <summary>The 256-entry global colour table (entries past the cube are black).</summary>
    public static byte[] Palette()
    {
        var table = new byte[256 * 3];
        for (int i = 0; i < Levels * Levels * Levels; i++)
        {
            table[i * 3] = (byte)(i / (Levels * Levels) * 255 / (Levels - 1));
            table[i * 3 + 1] = (byte)(i / Levels % Levels * 255 / (Levels - 1));
            table[i * 3 + 2] = (byte)(i % Levels * 255 / (Levels - 1));
        }
        return table;
    }

    private static int Level(byte v) => (v * (Levels - 1) + 127) / 255;

    private static byte[] Quantise(byte[] rgb)
    {
        var indices = new byte[rgb.Length / 3];
        for (int i = 0; i < indices.Length; i++) indices[i] = IndexOf(rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]);
        return indices;
    }

    private static void WriteSubBlocks(Stream s, byte[] data)
    {
        for (int offset = 0; offset < data.Length; offset += 255)
        {
            int count = Math.Min(255, data.Length - offset);
            s.WriteByte((byte)count);
            s.Write(data, offset, count);
        }
        s.WriteByte(0);
    }

    private static void WriteU16(Stream s, int value)
    {
        s.WriteByte((byte)(value & 0xFF));
        s.WriteByte((byte)(value >> 8));
    }
}
