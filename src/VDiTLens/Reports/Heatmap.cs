using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Reports;

/// <summary>
/// Renders 2D matrices as PNG pictures (viridis, one block of pixels per cell) for places that want a picture file;
/// report figures use <see cref="Charts.HeatmapChart"/>, which adds axes and a colour bar.
/// </summary>
public static class Heatmap
{
    public static (byte R, byte G, byte B) Colour(double t) => Charts.Colormap.Viridis(t);

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
