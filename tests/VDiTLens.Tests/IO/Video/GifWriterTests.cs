using System.Text;
using VDiTLens.IO.Video;

namespace VDiTLens.Tests.IO.Video;

public sealed class GifWriterTests
{
    private sealed record GifImage(int DelayCentiseconds, byte[] Indices);

    /// <summary>Walks the GIF's blocks (checking every structural field) and LZW-decodes each image.</summary>
    private static (int Width, int Height, byte[] Palette, bool Loops, List<GifImage> Images) Parse(byte[] gif)
    {
        Assert.Equal("GIF89a", Encoding.ASCII.GetString(gif, 0, 6));
        int width = gif[6] | gif[7] << 8, height = gif[8] | gif[9] << 8;
        Assert.Equal(0xF7, gif[10]);
        byte[] palette = gif[13..(13 + 768)];
        int p = 13 + 768, delay = -1;
        bool loops = false;
        var images = new List<GifImage>();
        while (true)
        {
            byte introducer = gif[p++];
            if (introducer == 0x3B) break;
            if (introducer == 0x21)
            {
                byte label = gif[p++];
                var blocks = ReadSubBlocks(gif, ref p);
                if (label == 0xF9)
                {
                    Assert.Equal(4, blocks.Length);
                    delay = blocks[1] | blocks[2] << 8;
                }
                if (label == 0xFF) loops = Encoding.ASCII.GetString(blocks, 0, 11) == "NETSCAPE2.0" && blocks.Length == 14 && blocks[11] == 1 && blocks[12] == 0 && blocks[13] == 0;
                continue;
            }
            Assert.Equal(0x2C, introducer);
            Assert.Equal(new byte[] { 0, 0, 0, 0 }, gif[p..(p + 4)]);
            Assert.Equal(width, gif[p + 4] | gif[p + 5] << 8);
            Assert.Equal(height, gif[p + 6] | gif[p + 7] << 8);
            Assert.Equal(0, gif[p + 8]);
            Assert.Equal(8, gif[p + 9]);
            p += 10;
            images.Add(new GifImage(delay, DecodeLzw(ReadSubBlocks(gif, ref p))));
        }
        Assert.Equal(gif.Length, p);
        return (width, height, palette, loops, images);
    }

    private static byte[] ReadSubBlocks(byte[] gif, ref int p)
    {
        var data = new List<byte>();
        while (gif[p] != 0)
        {
            int count = gif[p];
            data.AddRange(gif[(p + 1)..(p + 1 + count)]);
            p += 1 + count;
        }
        p++;
        return data.ToArray();
    }

    /// <summary>A GIF LZW decoder following the GIF89a specification (as giflib reads it).</summary>
    private static byte[] DecodeLzw(byte[] data)
    {
        var output = new List<byte>();
        var table = new List<byte[]>();
        void Reset()
        {
            table.Clear();
            for (int i = 0; i < 258; i++) table.Add(i < 256 ? new[] { (byte)i } : Array.Empty<byte>());
        }
        Reset();
        int bitPosition = 0, codeSize = 9, previous = -1;
        bool ended = false;
        while (bitPosition + codeSize <= data.Length * 8)
        {
            int code = 0;
            for (int b = 0; b < codeSize; b++, bitPosition++)
                if ((data[bitPosition >> 3] >> (bitPosition & 7) & 1) != 0) code |= 1 << b;
            if (code == 256) { Reset(); codeSize = 9; previous = -1; continue; }
            if (code == 257) { ended = true; break; }
            byte[] entry;
            if (previous < 0) entry = table[code];
            else
            {
                Assert.True(code <= table.Count, $"code {code} beyond table of {table.Count}");
                entry = code < table.Count ? table[code] : [.. table[previous], table[previous][0]];
                if (table.Count < 4096) table.Add([.. table[previous], entry[0]]);
            }
            output.AddRange(entry);
            previous = code;
            if (table.Count == 1 << codeSize && codeSize < 12) codeSize++;
        }
        Assert.True(ended, "no end-of-information code");
        return output.ToArray();
    }

    private static byte[] RandomRgb(Random random, int pixels, int distinct)
    {
        var rgb = new byte[pixels * 3];
        for (int i = 0; i < pixels; i++)
        {
            int v = random.Next(distinct);
            rgb[i * 3] = (byte)(v * 51 % 256);
            rgb[i * 3 + 1] = (byte)(v * 37 % 256);
            rgb[i * 3 + 2] = (byte)(v * 91 % 256);
        }
        return rgb;
    }

    [Theory]
    [InlineData(1, 1, 216)]    // single pixel
    [InlineData(16, 16, 2)]    // long runs: long dictionary strings and the KwKwK case
    [InlineData(96, 80, 216)]  // noisy: the table fills and is cleared
    public void Frames_round_trip_through_lzw_to_their_palette_indices(int width, int height, int distinct)
    {
        var random = new Random(width + distinct);
        var frames = Enumerable.Range(0, 3).Select(_ => RandomRgb(random, width * height, distinct)).ToList();
        var gif = Parse(GifWriter.EncodeRgb(width, height, frames, delayCentiseconds: 7));
        Assert.Equal((width, height), (gif.Width, gif.Height));
        Assert.True(gif.Loops);
        Assert.Equal(3, gif.Images.Count);
        for (int f = 0; f < 3; f++)
        {
            Assert.Equal(7, gif.Images[f].DelayCentiseconds);
            var expected = Enumerable.Range(0, width * height).Select(i => GifWriter.IndexOf(frames[f][i * 3], frames[f][i * 3 + 1], frames[f][i * 3 + 2])).ToArray();
            Assert.Equal(expected, gif.Images[f].Indices);
        }
    }

    [Fact]
    public void Palette_holds_the_nearest_cube_colour()
    {
        byte[] palette = GifWriter.Palette();
        Assert.Equal(768, palette.Length);
        foreach (var (r, g, b) in new (byte, byte, byte)[] { (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0), (30, 31, 32) })
        {
            int i = GifWriter.IndexOf(r, g, b);
            Assert.True(Math.Abs(palette[i * 3] - r) <= 26 && Math.Abs(palette[i * 3 + 1] - g) <= 26 && Math.Abs(palette[i * 3 + 2] - b) <= 26, $"({r},{g},{b}) → {i}");
        }
    }
}
