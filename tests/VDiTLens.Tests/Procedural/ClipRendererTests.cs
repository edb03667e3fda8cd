using TorchSharp;
using VDiTLens.Procedural;
using VDiTLens.Runtime;

namespace VDiTLens.Tests.Procedural;

public sealed class ClipRendererTests
{
    public ClipRendererTests() => TorchRuntime.Initialise();

    private static ClipSpec Spec(ObjectShape shape = ObjectShape.Square, BackgroundKind background = BackgroundKind.Plain) =>
        new(shape, ObjectColour.Yellow, MotionDirection.Right, MotionSpeed.Slow, background, 0.3, 0.5, 0.3, BackgroundSeed: 9);

    [Fact]
    public void Render_has_frames_channels_height_width_in_minus_one_to_one()
    {
        using var clip = ClipRenderer.Render(Spec() with { Frames = 13, Height = 24, Width = 40 });
        Assert.Equal(new long[] { 13, 3, 24, 40 }, clip.shape);
        Assert.Equal(torch.ScalarType.Float32, clip.dtype);
        Assert.True(clip.min().item<float>() >= -1 && clip.max().item<float>() <= 1);
        Assert.Equal(1f, clip.max().item<float>());
    }

    [Fact]
    public void Channels_first_is_the_permuted_clip()
    {
        using var framesFirst = ClipRenderer.Render(Spec());
        using var channelsFirst = ClipRenderer.RenderChannelsFirst(Spec());
        Assert.Equal(new long[] { 3, 9, 32, 32 }, channelsFirst.shape);
        Assert.True(channelsFirst[1, 4].eq(framesFirst[4, 1]).all().item<bool>());
        using var back = ClipRenderer.ToFramesFirst(channelsFirst);
        Assert.True(back.eq(framesFirst).all().item<bool>());
    }

    [Theory]
    [InlineData(BackgroundKind.Plain)]
    [InlineData(BackgroundKind.Noisy)]
    [InlineData(BackgroundKind.Striped)]
    public void Rendering_is_deterministic_and_the_background_static(BackgroundKind background)
    {
        float[] a = ClipRenderer.RenderPixels(Spec(background: background));
        float[] b = ClipRenderer.RenderPixels(Spec(background: background));
        Assert.Equal(a, b);
        // The bottom-left corner is background in every frame and identical across frames.
        int plane = 32 * 32, corner = 31 * 32;
        for (int f = 1; f < 9; f++) Assert.Equal(a[corner], a[f * 3 * plane + corner]);
    }

    [Fact]
    public void Texture_depends_on_the_background_seed_and_stays_dark()
    {
        var spec = Spec(background: BackgroundKind.Noisy);
        float[] a = ClipRenderer.RenderPixels(spec);
        float[] b = ClipRenderer.RenderPixels(spec with { BackgroundSeed = 10 });
        Assert.NotEqual(a, b);
        foreach (var kind in new[] { BackgroundKind.Noisy, BackgroundKind.Striped })
        {
            // The top row (frame 0, red channel) is background: the object sits at mid-height.
            float[] pixels = ClipRenderer.RenderPixels(spec with { Background = kind, BackgroundTone = 0.2 })[..32];
            // Tone 0.2 plus at most 0.05 texture, mapped to [-1, 1]: never above 2 * 0.25 - 1 = -0.5.
            Assert.True(pixels.Max() <= -0.5f + 1e-6f, $"{kind}: brightest background {pixels.Max()}");
            Assert.True(pixels.Distinct().Count() > 1, $"{kind} has no texture");
        }
    }

    [Fact]
    public void Object_interior_has_the_palette_colour_and_moves_by_the_travel()
    {
        var spec = Spec();
        using var clip = ClipRenderer.Render(spec, antiAlias: false);
        foreach (int frame in new[] { 0, spec.Frames - 1 })
        {
            var (cx, cy) = spec.CentreAt(frame);
            var pixel = clip[frame, .., (int)cy, (int)cx].data<float>().ToArray();
            Assert.Equal(new[] { 1f, 1f, -1f }, pixel);
        }
        Assert.Equal(8.0, spec.CentreAt(spec.Frames - 1).X - spec.CentreAt(0).X, 9);
        Assert.Equal(16.0, (spec with { Speed = MotionSpeed.Fast }).TravelPixels, 9);
    }

    [Theory]
    [InlineData(ObjectShape.Square, 1.0)]
    [InlineData(ObjectShape.Circle, Math.PI / 4)]
    [InlineData(ObjectShape.Triangle, 0.5)]
    [InlineData(ObjectShape.Cross, 5.0 / 9)]
    public void Anti_aliased_shape_area_matches_its_geometry(ObjectShape shape, double fill)
    {
        var spec = Spec(shape) with { Size = 0.5 };
        using var clip = ClipRenderer.Render(spec);
        // Coverage α from the red channel: value = tone + α (1 − tone) in [0, 1].
        double tone = spec.BackgroundTone;
        double area = ((clip[0, 0] + 1) / 2 - tone).sum().item<float>() / (1 - tone);
        double expected = fill * spec.SizePixels * spec.SizePixels;
        Assert.True(Math.Abs(area - expected) < 0.02 * expected, $"{shape}: area {area:F2} vs {expected:F2}");
    }

    [Fact]
    public void Dataset_objects_stay_inside_the_frame()
    {
        var dataset = new ProceduralDataset(new ProceduralDatasetOptions(Seed: 1));
        foreach (var example in dataset.TrainingExamples(300).Concat(dataset.EvaluationSet()))
        {
            var spec = example.Spec with { Background = BackgroundKind.Plain, Distractor = null };
            float[] pixels = ClipRenderer.RenderPixels(spec);
            float background = (float)(spec.BackgroundTone * 2 - 1);
            int plane = spec.Height * spec.Width;
            for (int f = 0; f < spec.Frames; f++)
            for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++)
            {
                int y = i / spec.Width, x = i % spec.Width;
                if (x != 0 && y != 0 && x != spec.Width - 1 && y != spec.Height - 1) continue;
                Assert.True(Math.Abs(pixels[(f * 3 + c) * plane + i] - background) < 1e-6, $"{example.Caption}: object on the border at frame {f}");
            }
        }
    }

    [Fact]
    public void Invalid_spec_is_rejected_naming_the_field()
    {
        var error = Assert.Throws<VDiTLensException>(() => ClipRenderer.Render(Spec() with { Size = 0 }));
        Assert.Contains("Size", error.Message);
        var same = new DistractorSpec(ObjectShape.Circle, ObjectColour.Yellow, 0.8, 0.8, 0.2);
        error = Assert.Throws<VDiTLensException>(() => ClipRenderer.Render(Spec() with { Distractor = same }));
        Assert.Contains("Distractor", error.Message);
    }
}
