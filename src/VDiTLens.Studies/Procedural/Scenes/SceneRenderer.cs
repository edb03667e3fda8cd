using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Procedural.Scenes;

/// <summary>Renders a <see cref="SceneSpec"/> to pixels in [-1, 1]. Pure function of the spec (no global random state).</summary>
public static class SceneRenderer
{
    /// <summary>Sub-samples per pixel axis (4×4 point tests per pixel).</summary>
    public const int Samples = 4;
    public const double NoiseAmplitude = 0.06;
    private const double StripeAmplitude = 0.04;
    private const double StripePeriod = 6.0;

    /// <summary>The clip as a float32 tensor [frames, 3, height, width] in [-1, 1] on the CPU.</summary>
    public static Tensor Render(SceneSpec spec) =>
        torch.tensor(RenderPixels(spec), new long[] { spec.Frames, 3, spec.Height, spec.Width });

    /// <summary>The clip as a flat array laid out [frames, 3, height, width], values in [-1, 1].</summary>
    public static float[] RenderPixels(SceneSpec spec)
    {
        spec.Validate();
        int h = spec.Height, w = spec.Width, plane = h * w;
        var output = new float[spec.Frames * 3 * plane];
        var rgb = new double[3 * plane];
        for (int f = 0; f < spec.Frames; f++)
        {
            Background(spec, f, rgb);
            for (int k = 0; k < spec.Objects.Count; k++) Composite(spec, k, f, rgb);
            for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++)
                output[(f * 3 + c) * plane + i] = (float)(Math.Clamp(rgb[c * plane + i], 0, 1) * 2 - 1);
        }
        return output;
    }

    /// <summary>Whether a point at offset (dx, dy) from the centre of a box of side <paramref name="size"/> is on a dark part of <paramref name="texture"/>.</summary>
    public static bool IsDark(ObjectTexture texture, double dx, double dy, double size)
    {
        double p = SceneSpec.TexturePeriod;
        double u = Mod(dx + size / 2, p), v = Mod(dy + size / 2, p);
        return texture switch
        {
            ObjectTexture.Striped => u >= p / 2,
            ObjectTexture.Dotted => u >= p / 4 && u < 3 * p / 4 && v >= p / 4 && v < 3 * p / 4,
            _ => false,
        };
    }

    private static void Composite(SceneSpec spec, int index, int frame, double[] rgb)
    {
        var o = spec.Objects[index];
        var (cx, cy) = spec.CentreAt(index, frame);
        var (r, g, b) = Palette.Rgb(o.Colour);
        int h = spec.Height, w = spec.Width, plane = h * w;
        double half = o.SizePixels / 2;
        int x0 = Math.Max(0, (int)Math.Floor(cx - half)), x1 = Math.Min(w - 1, (int)Math.Ceiling(cx + half));
        int y0 = Math.Max(0, (int)Math.Floor(cy - half)), y1 = Math.Min(h - 1, (int)Math.Ceiling(cy + half));
        for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
        {
            double covered = 0, shade = 0;
            for (int sy = 0; sy < Samples; sy++)
            for (int sx = 0; sx < Samples; sx++)
            {
                double dx = x + (sx + 0.5) / Samples - cx, dy = y + (sy + 0.5) / Samples - cy;
                if (!ShapeGeometry.Contains(o.Shape, dx, dy, o.SizePixels)) continue;
                covered++;
                shade += IsDark(o.Texture, dx, dy, o.SizePixels) ? SceneSpec.DarkShade : 1;
            }
            if (covered == 0) continue;
            double alpha = covered / (Samples * Samples), s = shade / covered;
            int i = y * w + x;
            rgb[i] += alpha * (r * s - rgb[i]);
            rgb[plane + i] += alpha * (g * s - rgb[plane + i]);
            rgb[2 * plane + i] += alpha * (b * s - rgb[2 * plane + i]);
        }
    }

    /// <summary>Grey background of one frame: plain, world-fixed hash noise (moved by the camera) or static diagonal stripes.</summary>
    private static void Background(SceneSpec spec, int frame, double[] rgb)
    {
        int h = spec.Height, w = spec.Width, plane = h * w;
        var (ox, oy) = spec.CameraOffsetAt(frame);
        double phase = Mod(spec.BackgroundSeed * 0.618034, 1) * StripePeriod;
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            double value = spec.BackgroundTone + spec.Background switch
            {
                BackgroundKind.Noisy => Noise(spec.BackgroundSeed, x + ox, y + oy) * NoiseAmplitude,
                BackgroundKind.Striped => Mod(x + y + phase, StripePeriod) < StripePeriod / 2 ? StripeAmplitude : -StripeAmplitude,
                _ => 0,
            };
            value = Math.Clamp(value, 0, 1);
            int i = y * w + x;
            rgb[i] = rgb[plane + i] = rgb[2 * plane + i] = value;
        }
    }

    /// <summary>Uniform value in [-1, 1] fixed to the world pixel (x, y) (SplitMix64 of seed and position).</summary>
    private static double Noise(int seed, int x, int y)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)(uint)x * 0xD1B54A32D192ED03UL + (ulong)(uint)y * 0x8CB92BA72F3D8DD7UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (z >> 11) * (2.0 / (1UL << 53)) - 1;
    }

    private static double Mod(double a, double m)
    {
        double r = a % m;
        return r < 0 ? r + m : r;
    }
}
