using TorchSharp;
using VDiTLens.Procedural;
using VDiTLens.Reports;
using VDiTLens.Runtime;
using VDiTLens.Tests.IO.Video;

namespace VDiTLens.Tests.Reports;

public sealed class ClipPicturesTests
{
    public ClipPicturesTests() => TorchRuntime.Initialise();

    private static ClipSpec Spec(ObjectColour colour) =>
        new(ObjectShape.Circle, colour, MotionDirection.Right, MotionSpeed.Fast, BackgroundKind.Striped, 0.25, 0.5, 0.3);

    [Fact]
    public void Contact_sheet_places_each_frame_in_its_cell()
    {
        using var a = ClipRenderer.Render(Spec(ObjectColour.Red));
        using var b = ClipRenderer.Render(Spec(ObjectColour.Green));
        string folder = Directory.CreateTempSubdirectory("vditlens-sheet").FullName;
        try
        {
            string path = Path.Combine(folder, "sheet.png");
            ClipPictures.WriteContactSheet(new[] { a, b }, path, scale: 2, gap: 1);
            var (width, height, rgb) = PngWriterTests.Decode(File.ReadAllBytes(path));
            Assert.Equal((9 * 64 + 8, 2 * 64 + 1), (width, height));
            // Row 1 (clip b), frame 4, pixel (y 16, x 20) upscaled by 2.
            int sx = 4 * 65 + 20 * 2, sy = 65 + 16 * 2;
            for (int c = 0; c < 3; c++)
                Assert.Equal(ClipPictures.ToByte(b[4, c, 16, 20].item<float>()), rgb[(sy * width + sx) * 3 + c]);
            Assert.Equal(ClipPictures.GapGrey, rgb[(64 * width + 3) * 3]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Frame_pngs_and_gif_are_written_per_frame()
    {
        using var clip = ClipRenderer.Render(Spec(ObjectColour.Blue));
        string folder = Directory.CreateTempSubdirectory("vditlens-frames").FullName;
        try
        {
            var paths = ClipPictures.WriteFramePngs(clip, folder, "blue", scale: 1);
            Assert.Equal(9, paths.Count);
            Assert.EndsWith("blue_008.png", paths[^1]);
            var frame = PngWriterTests.Decode(File.ReadAllBytes(paths[3]));
            Assert.Equal(ClipPictures.ToRgbFrames(clip)[3], frame.Rgb);

            string gif = Path.Combine(folder, "blue.gif");
            ClipPictures.WriteGif(clip, gif, scale: 2);
            byte[] bytes = File.ReadAllBytes(gif);
            Assert.Equal("GIF89a", System.Text.Encoding.ASCII.GetString(bytes, 0, 6));
            Assert.Equal(64, bytes[6] | bytes[7] << 8);
            Assert.Equal(0x3B, bytes[^1]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Byte_mapping_clamps_and_rounds()
    {
        Assert.Equal(0, ClipPictures.ToByte(-1));
        Assert.Equal(255, ClipPictures.ToByte(1));
        Assert.Equal(128, ClipPictures.ToByte(0));
        Assert.Equal(255, ClipPictures.ToByte(3));
        Assert.Equal(0, ClipPictures.ToByte(float.NaN));
    }
}
