using System.Buffers.Binary;
using System.IO.Compression;
using VDiTLens.IO.Video;

namespace VDiTLens.Tests.IO.Video;

public sealed class PngWriterTests
{
    [Fact]
    public void Png_holds_the_rgb_rows_with_valid_chunk_crcs()
    {
        const int width = 5, height = 3;
        var rgb = Enumerable.Range(0, width * height * 3).Select(i => (byte)(i * 17)).ToArray();
        string path = Path.Combine(Path.GetTempPath(), $"vditlens-{Guid.NewGuid():N}.png");
        try
        {
            PngWriter.Write(path, width, height, rgb);
            var data = File.ReadAllBytes(path);
            Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, data[..8]);
            var chunks = new Dictionary<string, byte[]>();
            int p = 8;
            while (p < data.Length)
            {
                int length = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(p));
                string type = System.Text.Encoding.ASCII.GetString(data, p + 4, 4);
                var body = data[(p + 8)..(p + 8 + length)];
                uint crc = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(p + 8 + length));
                Assert.Equal(Crc32(data[(p + 4)..(p + 8 + length)]), crc);
                chunks[type] = body;
                p += 12 + length;
            }
            Assert.Equal(new[] { "IHDR", "IDAT", "IEND" }, chunks.Keys);
            Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(chunks["IHDR"]));
            Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(chunks["IHDR"].AsSpan(4)));
            using var z = new ZLibStream(new MemoryStream(chunks["IDAT"]), CompressionMode.Decompress);
            using var raw = new MemoryStream();
            z.CopyTo(raw);
            var rows = raw.ToArray();
            Assert.Equal(height * (1 + width * 3), rows.Length);
            for (int y = 0; y < height; y++)
            {
                Assert.Equal(0, rows[y * (1 + width * 3)]);
                Assert.Equal(rgb[(y * width * 3)..((y + 1) * width * 3)], rows[(y * (1 + width * 3) + 1)..((y + 1) * (1 + width * 3))]);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    // Bitwise CRC-32 (ISO-HDLC), written independently of the writer's table-driven one.
    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}

