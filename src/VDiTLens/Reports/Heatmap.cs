using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Reports;

/// <summary>Renders 2D matrices as PNG heatmaps (viridis-like colour map, optional per-map scaling).</summary>
public static class Heatmap
{
    // Anchor colours of the viridis map, interpolated linearly.
    private static readonly (double R, double G, double B)[] Anchors =
    {
        (68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37),
    };

    public static (byte R, byte G, byte B) Colour(double t)
    {
        t = double.IsNaN(t) ? 0 : Math.Clamp(t, 0, 1);
        double x = t * (Anchors.Length - 1);
        int i = Math.Min((int)x, Anchors.Length - 2);
        double f = x - i;
        var a = Anchors[i];
        var b = Anchors[i + 1];
        return ((byte)(a.R + (b.R - a.R) * f), (byte)(a.G + (b.G - a.G) * f), (byte)(a.B + (b.B - a.B) * f));
    }

    /// <summary>Writes <paramref name="matrix"/> [rows, cols] as a PNG, each cell <paramref name="cell"/> pixels, scaled min..max (or 0..max).</summary>
    public static void Write(string path, Tensor matrix, int cell = 8, bool fromZero = true, bool logScale = false)
    {
        using var scope = torch.NewDisposeScope();
        var m = matrix.detach().cpu().to(ScalarType.Float64);
        if (m.dim() != 2) throw new VDiTLensException($"heatmap needs a 2D matrix, got [{string.Join(", ", m.shape)}]");
        if (logScale) m = (m.clamp_min(1e-12)).log10();
        int rows = (int)m.shape[0], cols = (int)m.shape[1];
        var values = m.contiguous().data<double>().ToArray();
        double lo = fromZero && !logScale ? 0 : values.Where(double.IsFinite).DefaultIfEmpty(0).Min();
        double hi = values.Where(double.IsFinite).DefaultIfEmpty(1).Max();
        double range = hi > lo ? hi - lo : 1;
        cell = Math.Max(1, cell);
        int width = cols * cell, height = rows * cell;
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = Colour((values[y / cell * cols + x / cell] - lo) / range);
                int o = (y * width + x) * 3;
                rgb[o] = r;
                rgb[o + 1] = g;
                rgb[o + 2] = b;
            }
        PngWriter.WriteRgb(path, width, height, rgb);
    }

    /// <summary>A cell size that makes the picture about <paramref name="target"/> pixels on its longer side.</summary>
    public static int CellFor(long rows, long cols, int target = 256) => (int)Math.Clamp(target / Math.Max(rows, cols), 1, 64);
}
