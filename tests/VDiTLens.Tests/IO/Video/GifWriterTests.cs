using VDiTLens.IO.Video;

namespace VDiTLens.Tests.IO.Video;

public sealed class GifWriterTests
{
    private static RgbFrames RandomFrames(int width, int height, int count, int seed, int levels = 256)
    {
        var random = new Random(seed);
        var frames = Enumerable.Range(0, count).Select(_ =>
        {
            var rgb = new byte[width * height * 3];
            for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)(random.Next(levels) * (255 / Math.Max(1, levels - 1)));
            return rgb;
        }).ToArray();
        return new RgbFrames(width, height, frames);
    }

    [Theory]
    [InlineData(48, 32, 3, 256)]   // noise: the 4096-entry table fills and is cleared several times
    [InlineData(97, 61, 2, 2)]     // few colours, long repeats: long codes, odd sizes
    [InlineData(1, 1, 1, 256)]
    public void Frames_decode_back_to_the_quantised_pixels(int width, int height, int count, int levels)
    {
        var video = RandomFrames(width, height, count, seed: width * 31 + levels, levels);
        using var stream = new MemoryStream();
        GifWriter.Write(stream, video, fps: 16);
        var gif = GifReader.Read(stream.ToArray());
        Assert.Equal((width, height), (gif.Width, gif.Height));
        Assert.Equal(GifWriter.Palette, gif.Palette);
        Assert.True(gif.Loops);
        Assert.Equal(Enumerable.Repeat(6, count), gif.Delays);
        Assert.Equal(count, gif.Frames.Count);
        for (int f = 0; f < count; f++)
            Assert.Equal(GifWriter.Quantize(video.Frames[f]), gif.Frames[f]);
    }

    [Fact]
    public void Lzw_round_trips_a_long_run_past_the_table_limit()
    {
        var pixels = new byte[200_000];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)((i * 7 / 13 + i / 5000) % 256);
        Assert.Equal(pixels, GifReader.Decode(GifLzwEncoder.Encode(pixels), 8));
    }

    [Fact]
    public void Palette_colours_quantise_to_themselves()
    {
        var rgb = GifWriter.Palette.ToArray();
        Assert.Equal(Enumerable.Range(0, 256).Select(i => (byte)i), GifWriter.Quantize(rgb));
    }
}
