using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace VDiTLens.IO.Video;

/// <summary>Minimal PNG encoder: 8-bit RGB, no interlace, filter 0 on every row, zlib via <see cref="ZLibStream"/>.</summary>
public static class PngWriter
{
    private static readonly byte[] Signature = { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };

    /// <summary>Writes an RGB image (<paramref name="rgb"/>: height × width × 3 bytes, row-major) to <paramref name="path"/>.</summary>
    public static void WriteRgb(string path, int width, int height, byte[] rgb)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllBytes(path, EncodeRgb(width, height, rgb));
    }

    /// <summary>The PNG file bytes of an RGB image (<paramref name="rgb"/>: height × width × 3 bytes, row-major).</summary>
    public static byte[] EncodeRgb(int width, int height, byte[] rgb)
    {
        if (width < 1 || height < 1 || rgb.Length != (long)width * height * 3)
            throw new ArgumentException($"PNG of {width}×{height} needs {(long)width * height * 3} RGB bytes, got {rgb.Length}");

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;  // bit depth
        header[9] = 2;  // colour type: truecolour
        // compression 0, filter method 0, interlace 0

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            int stride = width * 3;
            for (int y = 0; y < height; y++)
            {
                zlib.WriteByte(0);
                zlib.Write(rgb, y * stride, stride);
            }
        }

        using var file = new MemoryStream();
        file.Write(Signature);
        WriteChunk(file, "IHDR", header);
        WriteChunk(file, "IDAT", compressed.ToArray());
        WriteChunk(file, "IEND", Array.Empty<byte>());
        return file.ToArray();
    }

    private static void WriteChunk(Stream stream, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        byte[] typeBytes = Encoding.ASCII.GetBytes(type);
        stream.Write(typeBytes);
        stream.Write(data);
        uint crc = Crc32.Compute(data, Crc32.Compute(typeBytes));
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        stream.Write(word);
    }
}
