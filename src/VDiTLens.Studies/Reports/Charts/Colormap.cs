using System.Globalization;

namespace VDiTLens.Reports.Charts;

/// <summary>
/// Viridis, the perceptually uniform colour map of matplotlib: 11 samples at 0, 0.1, …, 1 interpolated linearly in
/// sRGB (indistinguishable from the 256-entry table at chart sizes). The explorer's script uses the same samples.
/// </summary>
public static class Colormap
{
    public static readonly string[] ViridisSamples =
    {
        "#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c", "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725",
    };

    private static readonly (double R, double G, double B)[] Anchors = ViridisSamples.Select(h =>
        ((double)Convert.ToByte(h[1..3], 16), (double)Convert.ToByte(h[3..5], 16), (double)Convert.ToByte(h[5..7], 16))).ToArray();

    /// <summary>The colour of <paramref name="t"/> ∈ [0, 1] (clamped; NaN → the low end).</summary>
    public static (byte R, byte G, byte B) Viridis(double t)
    {
        t = double.IsNaN(t) ? 0 : Math.Clamp(t, 0, 1);
        double x = t * (Anchors.Length - 1);
        int i = Math.Min((int)x, Anchors.Length - 2);
        double f = x - i;
        var a = Anchors[i];
        var b = Anchors[i + 1];
        return ((byte)Math.Round(a.R + (b.R - a.R) * f), (byte)Math.Round(a.G + (b.G - a.G) * f), (byte)Math.Round(a.B + (b.B - a.B) * f));
    }

    public static string Hex((byte R, byte G, byte B) c) => string.Create(CultureInfo.InvariantCulture, $"#{c.R:x2}{c.G:x2}{c.B:x2}");

    /// <summary>Okabe–Ito colours (distinguishable with colour-vision deficiencies) for series.</summary>
    public static readonly string[] Series = { "#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000", "#F0E442" };
}
