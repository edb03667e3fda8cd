using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Procedural;

/// <summary>Renders a <see cref="ClipSpec"/> to pixels in [-1, 1]. Pure function of the spec (no global random state).</summary>
public static class ClipRenderer
{
    /// <summary>Sub-samples per pixel axis when anti-aliasing (4×4 = 16 point tests per pixel).</summary>
    public const int AntiAliasSamples = 4;

    private const double NoiseAmplitude = 0.05;
    private const double StripeAmplitude = 0.04;
    private const double StripePeriod = 6.0;

    /// <summary>The clip as a float32 tensor [frames, 3, height, width] in [-1, 1] on the CPU.</summary>
    public static Tensor Render(ClipSpec spec, bool antiAlias = true)
    {
        float[] pixels = RenderPixels(spec, antiAlias);
        return torch.tensor(pixels, new long[] { spec.Frames, 3, spec.Height, spec.Width });
    }

    /// <summary>The clip as a float32 tensor [3, frames, height, width] in [-1, 1] (the layout of a video VAE / Wan input).</summary>
    public static Tensor RenderChannelsFirst(ClipSpec spec, bool antiAlias = true)
    {
        using var frames = Render(spec, antiAlias);
        return ToChannelsFirst(frames);
    }

    /// <summary>[F, 3, H, W] → [3, F, H, W] (contiguous copy).</summary>
    public static Tensor ToChannelsFirst(Tensor framesFirst) => framesFirst.permute(1, 0, 2, 3).contiguous();

    /// <summary>[3, F, H, W] → [F, 3, H, W] (contiguous copy).</summary>
    public static Tensor ToFramesFirst(Tensor channelsFirst) => channelsFirst.permute(1, 0, 2, 3).contiguous();

    /// <summary>The clip as a flat array laid out [frames, 3, height, width], values in [-1, 1].</summary>
    public static float[] RenderPixels(ClipSpec spec, bool antiAlias = true)
    {
        spec.Validate();
        int f = spec.Frames, h = spec.Height, w = spec.Width, plane = h * w;
        int samples = antiAlias ? AntiAliasSamples : 1;
        double[] background = BackgroundGrey(spec);
        double[]? distractor = null;
        if (spec.Distractor is { } d)
            distractor = ShapeGeometry.CoverageMap(d.Shape, d.X * w, d.Y * h, d.Size * Math.Min(h, w), h, w, samples);

        var output = new float[f * 3 * plane];
        var objectRgb = Palette.Rgb(spec.Colour);
        for (int frame = 0; frame < f; frame++)
        {
            var (cx, cy) = spec.CentreAt(frame);
            double[] coverage = ShapeGeometry.CoverageMap(spec.Shape, cx, cy, spec.SizePixels, h, w, samples);
            for (int c = 0; c < 3; c++)
            {
                double objectValue = c == 0 ? objectRgb.R : c == 1 ? objectRgb.G : objectRgb.B;
                double distractorValue = 0;
                if (spec.Distractor is { } dd)
                {
                    var rgb = Palette.Rgb(dd.Colour);
                    distractorValue = c == 0 ? rgb.R : c == 1 ? rgb.G : rgb.B;
                }
                int offset = (frame * 3 + c) * plane;
                for (int i = 0; i < plane; i++)
                {
                    double value = background[i];
                    // The moving object passes in front of the distractor.
                    if (distractor is not null) value += distractor[i] * (distractorValue - value);
                    value += coverage[i] * (objectValue - value);
                    output[offset + i] = (float)(value * 2 - 1);
                }
            }
        }
        return output;
    }

    /// <summary>Static background grey level per pixel (row-major), in [0, 1].</summary>
    private static double[] BackgroundGrey(ClipSpec spec)
    {
        int h = spec.Height, w = spec.Width;
        var grey = new double[h * w];
        var random = new Random(spec.BackgroundSeed);
        double phase = random.NextDouble() * StripePeriod;
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            double value = spec.BackgroundTone;
            switch (spec.Background)
            {
                case BackgroundKind.Noisy:
                    value += (random.NextDouble() * 2 - 1) * NoiseAmplitude;
                    break;
                case BackgroundKind.Striped:
                    double u = (x + y + phase) % StripePeriod;
                    value += u < StripePeriod / 2 ? StripeAmplitude : -StripeAmplitude;
                    break;
            }
            grey[y * w + x] = Math.Clamp(value, 0, 1);
        }
        return grey;
    }
}
