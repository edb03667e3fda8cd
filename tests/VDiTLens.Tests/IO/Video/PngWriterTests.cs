using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using VDiTLens.IO.Video;

namespace VDiTLens.Tests.IO.Video;

public sealed class PngWriterTests
{
    /// <summary>Decodes a PNG written by <see cref="PngWriter"/>: checks signature, chunk order and CRCs, inflates IDAT.</summary>
    internal static (int Width, int Height, byte[] Rgb) Decode(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        int offset = 8, width = 0, height = 0;
        var chunks = new List<string>();
        using var idat = new MemoryStream();
        while (offset < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            string type = Encoding.ASCII.GetString(png, offset + 4, 4);
            var data = png.AsSpan(offset + 8, length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset + 8 + length));
            Assert.Equal(ReferenceCrc(png.AsSpan(offset + 4, length + 4)), crc);
            chunks.Add(type);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.Equal(new byte[] { 8, 2, 0, 0, 0 }, data[8..].ToArray());
            }
            if (type == "IDAT") idat.Write(data);
            offset += 12 + length;
        }
        Assert.Equal(png.Length, offset);
        Assert.Equal(new[] { "IHDR", "IDAT", "IEND" }, chunks);

        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(idat, CompressionMode.Decompress)) zlib.CopyTo(inflated);
        byte[] raw = inflated.ToArray();
        int stride = width * 3;
        Assert.Equal(height * (stride + 1), raw.Length);
        var rgb = new byte[height * stride];
        for (int y = 0; y < height; y++)
        {
            Assert.Equal(0, raw[y * (stride + 1)]);
            Array.Copy(raw, y * (stride + 1) + 1, rgb, y * stride, stride);
        }
        return (width, height, rgb);
    }

    /// <summary>Bitwise CRC-32, written independently of the writer's table version.</summary>
    private static uint ReferenceCrc(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }

    [Fact]
    public void Crc32_matches_the_standard_check_values()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0xAE426082u, Crc32.Compute(Encoding.ASCII.GetBytes("IEND")));
        Assert.Equal(0xCBF43926u, ReferenceCrc(Encoding.ASCII.GetBytes("123456789")));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(64, 40)]
    public void Encoded_png_decodes_back_to_the_same_pixels(int width, int height)
    {
        var random = new Random(width * 100 + height);
        var rgb = new byte[width * height * 3];
        random.NextBytes(rgb);
        var decoded = Decode(PngWriter.EncodeRgb(width, height, rgb));
        Assert.Equal((width, height), (decoded.Width, decoded.Height));
        Assert.Equal(rgb, decoded.Rgb);
    }

    [Fact]
    public void Wrong_pixel_count_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => PngWriter.EncodeRgb(2, 2, new byte[11]));
    }
}
