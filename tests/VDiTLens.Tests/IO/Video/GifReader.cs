namespace VDiTLens.Tests.IO.Video;

/// <summary>A strict test-side GIF89a reader: header, global palette, extensions, frames (LZW decoded), trailer.</summary>
public sealed class GifReader
{
    public int Width { get; private set; }
    public int Height { get; private set; }
    public byte[] Palette { get; private set; } = Array.Empty<byte>();
    public List<byte[]> Frames { get; } = new();
    public List<int> Delays { get; } = new();
    public bool Loops { get; private set; }

    public static GifReader Read(byte[] data)
    {
        var gif = new GifReader();
        int p = 0;
        Assert.Equal("GIF89a", System.Text.Encoding.ASCII.GetString(data, 0, 6));
        p = 6;
        gif.Width = data[p] | data[p + 1] << 8;
        gif.Height = data[p + 2] | data[p + 3] << 8;
        byte flags = data[p + 4];
        Assert.True((flags & 0x80) != 0, "global colour table expected");
        int tableSize = 3 << ((flags & 7) + 1);
        p += 7;
        gif.Palette = data[p..(p + tableSize)];
        p += tableSize;
        while (true)
        {
            byte b = data[p++];
            if (b == 0x3B) break;
            if (b == 0x21)
            {
                byte label = data[p++];
                var blocks = SubBlocks(data, ref p);
                if (label == 0xF9) gif.Delays.Add(blocks[1] | blocks[2] << 8);
                if (label == 0xFF && System.Text.Encoding.ASCII.GetString(blocks, 0, 11) == "NETSCAPE2.0") gif.Loops = true;
                continue;
            }
            Assert.Equal(0x2C, b);
            int w = data[p + 4] | data[p + 5] << 8, h = data[p + 6] | data[p + 7] << 8;
            Assert.Equal((gif.Width, gif.Height), (w, h));
            Assert.Equal(0, data[p + 8] & 0x80);
            p += 9;
            int minCodeSize = data[p++];
            var pixels = Decode(SubBlocks(data, ref p), minCodeSize);
            Assert.Equal(w * h, pixels.Length);
            gif.Frames.Add(pixels);
        }
        Assert.Equal(data.Length, p);
        return gif;
    }

    private static byte[] SubBlocks(byte[] data, ref int p)
    {
        var all = new List<byte>();
        while (true)
        {
            int n = data[p++];
            if (n == 0) return all.ToArray();
            all.AddRange(data.AsSpan(p, n).ToArray());
            p += n;
        }
    }

    /// <summary>Standard GIF LZW decoding (independent of the writer's encoder).</summary>
    public static byte[] Decode(byte[] stream, int minCodeSize)
    {
        int clear = 1 << minCodeSize, end = clear + 1;
        var table = new List<byte[]>();
        void Reset()
        {
            table.Clear();
            for (int i = 0; i < clear; i++) table.Add(new[] { (byte)i });
            table.Add(Array.Empty<byte>());
            table.Add(Array.Empty<byte>());
        }
        Reset();
        int width = minCodeSize + 1, bit = 0;
        byte[]? previous = null;
        var output = new List<byte>();
        while (true)
        {
            Assert.True(bit + width <= stream.Length * 8, "LZW stream ended without an end code");
            int code = 0;
            for (int i = 0; i < width; i++, bit++)
                if ((stream[bit >> 3] >> (bit & 7) & 1) != 0) code |= 1 << i;
            if (code == clear)
            {
                Reset();
                width = minCodeSize + 1;
                previous = null;
                continue;
            }
            if (code == end) break;
            byte[] entry;
            if (previous is null)
            {
                entry = table[code];
            }
            else
            {
                if (code < table.Count) entry = table[code];
                else
                {
                    Assert.Equal(table.Count, code);
                    entry = previous.Append(previous[0]).ToArray();
                }
                if (table.Count < 4096) table.Add(previous.Append(entry[0]).ToArray());
            }
            output.AddRange(entry);
            previous = entry;
            if (table.Count == 1 << width && width < 12) width++;
        }
        return output.ToArray();
    }
}
