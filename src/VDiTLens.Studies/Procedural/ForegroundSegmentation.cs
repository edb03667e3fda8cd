namespace VDiTLens.Procedural;

/// <summary>
/// Splits each frame into background and per-palette-colour soft masks. The background of a frame is the per-channel
/// median of its one-pixel border ring; a pixel is foreground when its RGB distance from that exceeds a threshold set
/// by the border's own spread (so textured backgrounds stay background). A foreground pixel is assigned to the palette
/// colour whose direction from the background best matches its own (cosine), which is invariant to anti-aliasing
/// blends p = α·c + (1 − α)·b; its soft mass is that α.
/// </summary>
internal sealed class ForegroundSegmentation
{
    /// <summary>Smallest foreground distance (RGB in [0, 1], Euclidean).</summary>
    public const double MinThreshold = 0.2;
    /// <summary>Threshold as a multiple of the median border deviation.</summary>
    public const double BorderSpreadFactor = 3.0;
    /// <summary>Smallest cosine to a palette direction for a pixel to be given that colour.</summary>
    public const double MinCosine = 0.8;

    private static readonly ObjectColour[] Colours = Enum.GetValues<ObjectColour>();

    public int Frames { get; }
    public int Height { get; }
    public int Width { get; }
    public int Plane => Height * Width;

    /// <summary>Soft mass per colour, laid out [colour][frame * plane + pixel].</summary>
    public double[][] Mass { get; }

    /// <summary>Per frame: total soft mass of all foreground pixels, explained by a colour or not.</summary>
    public double[] ForegroundMass { get; }

    public ForegroundSegmentation(float[] pixels, int frames, int height, int width)
    {
        Frames = frames;
        Height = height;
        Width = width;
        Mass = Colours.Select(_ => new double[frames * Plane]).ToArray();
        ForegroundMass = new double[frames];

        var rgb = new double[3];
        var backgrounds = new double[frames][];
        var spread = new List<double>();
        for (int f = 0; f < frames; f++)
        {
            backgrounds[f] = BorderMedian(pixels, f);
            foreach (int i in BorderPixels())
                if (Read(pixels, f, i, rgb)) spread.Add(Distance(rgb, backgrounds[f]));
        }
        double threshold = Math.Max(MinThreshold, BorderSpreadFactor * Median(spread));

        for (int f = 0; f < frames; f++)
        {
            double[] b = backgrounds[f];
            var directions = Colours.Select(c => Direction(c, b)).ToArray();
            for (int i = 0; i < Plane; i++)
            {
                if (!Read(pixels, f, i, rgb)) continue;
                double d0 = rgb[0] - b[0], d1 = rgb[1] - b[1], d2 = rgb[2] - b[2];
                double norm = Math.Sqrt(d0 * d0 + d1 * d1 + d2 * d2);
                if (norm <= threshold) continue;
                int best = -1;
                double bestCosine = double.NegativeInfinity, bestAlpha = 0;
                for (int k = 0; k < Colours.Length; k++)
                {
                    var e = directions[k];
                    double dot = d0 * e[0] + d1 * e[1] + d2 * e[2];
                    double eNorm2 = e[0] * e[0] + e[1] * e[1] + e[2] * e[2];
                    if (eNorm2 < 1e-6) continue;
                    double cosine = dot / (norm * Math.Sqrt(eNorm2));
                    if (cosine > bestCosine)
                    {
                        bestCosine = cosine;
                        best = k;
                        bestAlpha = Math.Clamp(dot / eNorm2, 0, 1);
                    }
                }
                // Unexplained pixels (e.g. darker than the background) still count as foreground with full weight.
                if (best < 0 || bestCosine < MinCosine)
                {
                    ForegroundMass[f] += 1;
                    continue;
                }
                Mass[best][f * Plane + i] = bestAlpha;
                ForegroundMass[f] += bestAlpha;
            }
        }
    }

    /// <summary>Reads pixel i of frame f as RGB in [0, 1]; false if any channel is not finite.</summary>
    private bool Read(float[] pixels, int f, int i, double[] rgb)
    {
        for (int c = 0; c < 3; c++)
        {
            float v = pixels[(f * 3 + c) * Plane + i];
            if (!float.IsFinite(v)) return false;
            rgb[c] = (v + 1) / 2.0;
        }
        return true;
    }

    private IEnumerable<int> BorderPixels()
    {
        for (int x = 0; x < Width; x++)
        {
            yield return x;
            yield return (Height - 1) * Width + x;
        }
        for (int y = 1; y < Height - 1; y++)
        {
            yield return y * Width;
            yield return y * Width + Width - 1;
        }
    }

    private double[] BorderMedian(float[] pixels, int f)
    {
        var channels = new[] { new List<double>(), new List<double>(), new List<double>() };
        var rgb = new double[3];
        foreach (int i in BorderPixels())
            if (Read(pixels, f, i, rgb))
                for (int c = 0; c < 3; c++) channels[c].Add(rgb[c]);
        return channels.Select(Median).ToArray();
    }

    private static double[] Direction(ObjectColour colour, double[] background)
    {
        var (r, g, b) = Palette.Rgb(colour);
        return new[] { r - background[0], g - background[1], b - background[2] };
    }

    private static double Distance(double[] a, double[] b)
    {
        double d0 = a[0] - b[0], d1 = a[1] - b[1], d2 = a[2] - b[2];
        return Math.Sqrt(d0 * d0 + d1 * d1 + d2 * d2);
    }

    private static double Median(List<double> values)
    {
        if (values.Count == 0) return 0;
        values.Sort();
        int n = values.Count;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }
}
