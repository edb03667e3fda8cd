using VDiTLens.Procedural;
using VDiTLens.Procedural.Scenes;
using VDiTLens.Runtime;

namespace VDiTLens.Tests.Procedural.Scenes;

public sealed class SceneRenderingTests
{
    public SceneRenderingTests() => TorchRuntime.Initialise();

    private static SceneSpec OneObject(ObjectTexture texture, CameraPan camera = CameraPan.Static, BackgroundKind background = BackgroundKind.Noisy) =>
        new(new[] { new SceneObject(ObjectShape.Square, ObjectColour.Red, texture, MotionDirection.Right, MotionSpeed.Fast, 20, 24, 12) },
            background, camera, 0.1, 5, 17, 48, 48);

    [Theory]
    [InlineData(5.0, 2.0, 10.0, 5.0)]    // inside: unchanged
    [InlineData(12.0, 2.0, 10.0, 8.0)]   // 2 past the top wall: folded back by 2
    [InlineData(-1.0, 2.0, 10.0, 5.0)]   // 3 below the bottom wall: folded to 2 + 3
    [InlineData(19.0, 2.0, 10.0, 3.0)]   // a full bounce off both walls: 17 past low, length 8 → 2·8 − 17 = −1 → 17 − 16 = 1 past low
    public void Reflect_folds_motion_back_at_the_walls(double position, double low, double high, double expected) =>
        Assert.Equal(expected, SceneSpec.Reflect(position, low, high), 9);

    [Fact]
    public void Objects_bounce_off_the_walls_and_keep_their_speed()
    {
        var spec = OneObject(ObjectTexture.Solid);
        double speed = SceneSpec.PixelsPerFrame(MotionSpeed.Fast, 48, 17); // 0.9 · 48 / 16 = 2.7
        Assert.Equal(2.7, speed, 9);
        // Starts at 20 moving right; the wall for a 12-pixel box is at 42, reached after (42 − 20) / 2.7 frames.
        Assert.Equal(20 + 2.7 * 8, spec.CentreAt(0, 8).X, 9);
        Assert.Equal(42 - (20 + 2.7 * 9 - 42), spec.CentreAt(0, 9).X, 9);
        Assert.Equal(24, spec.CentreAt(0, 16).Y, 9);
    }

    [Fact]
    public void A_panning_camera_shifts_the_background_one_pixel_per_frame()
    {
        var spec = OneObject(ObjectTexture.Solid, CameraPan.Left) with { Objects = new[] { OneObject(ObjectTexture.Solid).Objects[0] with { StartY = 6, StartX = 40, Direction = MotionDirection.Up, Speed = MotionSpeed.Slow } } };
        var pixels = SceneRenderer.RenderPixels(spec);
        int plane = 48 * 48;
        // Panning left moves content right: frame 1 at (x, y) equals frame 0 at (x − 1, y), away from the object.
        for (int y = 20; y < 48; y++)
        for (int x = 1; x < 30; x++)
            Assert.Equal(pixels[0 * plane + y * 48 + x - 1], pixels[3 * plane + y * 48 + x]);
    }

    [Fact]
    public void Solid_objects_show_their_palette_colour_and_textures_show_the_dark_shade()
    {
        var solid = SceneRenderer.RenderPixels(OneObject(ObjectTexture.Solid, background: BackgroundKind.Plain));
        var striped = SceneRenderer.RenderPixels(OneObject(ObjectTexture.Striped, background: BackgroundKind.Plain));
        int plane = 48 * 48;
        // Box spans x ∈ [14, 26), y ∈ [18, 30) at frame 0; stripes 2 pixels wide from the box's left edge.
        Assert.Equal(1f, solid[24 * 48 + 15]);                                 // red channel, bright
        Assert.Equal(-1f, solid[plane + 24 * 48 + 15]);                        // green channel
        Assert.Equal(1f, striped[24 * 48 + 15]);                               // first stripe bright
        Assert.Equal((float)(SceneSpec.DarkShade * 2 - 1), striped[24 * 48 + 17], 5); // second stripe dark
    }

    [Fact]
    public void Captions_name_attributes_in_vocabulary_words_and_no_positions()
    {
        var dataset = new SceneDataset();
        for (int i = 0; i < 300; i++)
        {
            var example = dataset.Training(i);
            var words = CaptionVocabulary.Tokenise(example.Caption);
            Assert.All(words, w => Assert.NotEqual(CaptionVocabulary.UnkId, CaptionVocabulary.Default.IdOf(w)));
            Assert.True(words.Count + 1 <= SceneCaption.MaxLength, example.Caption);
            Assert.DoesNotContain(words, w => w is "top" or "bottom" or "centre" or "corner");
            foreach (var o in example.Spec.Objects)
                Assert.Contains($"a {Palette.Word(o.Colour)} {Palette.Word(o.Texture)} {Palette.Word(o.Shape)} moving {Palette.Word(o.Direction)}", example.Caption);
            Assert.Equal(example.Spec.Camera != CameraPan.Static, example.Caption.Contains("camera"));
        }
        Assert.Equal("a red striped square moving right quickly on a noisy background as the camera pans left",
            SceneCaption.For(OneObject(ObjectTexture.Striped, CameraPan.Left)));
    }

    [Fact]
    public void Bad_scenes_name_the_field()
    {
        var spec = OneObject(ObjectTexture.Solid);
        var twice = spec with { Objects = new[] { spec.Objects[0], spec.Objects[0] with { Shape = ObjectShape.Circle } } };
        Assert.Contains("own palette colour", Assert.Throws<VDiTLensException>(() => SceneRenderer.RenderPixels(twice)).Message);
        var plainPan = OneObject(ObjectTexture.Solid, CameraPan.Up, BackgroundKind.Plain);
        Assert.Contains("SceneSpec.Camera", Assert.Throws<VDiTLensException>(() => SceneRenderer.RenderPixels(plainPan)).Message);
    }

    [Fact]
    public void A_blank_clip_has_no_objects_and_a_static_camera()
    {
        var judgement = SceneEvaluator.Evaluate(new float[17 * 3 * 48 * 48], 17, 48, 48);
        Assert.Empty(judgement.Objects);
        Assert.Equal(CameraPan.Static, judgement.Camera);
    }
}
