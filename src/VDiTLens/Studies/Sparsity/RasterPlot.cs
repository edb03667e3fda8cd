using VDiTLens.Reports;

namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// A minimal raster chart (no text: axis ranges and legends go in the HTML caption): white background, axes with
/// 5 ticks, poly-lines and square markers in data coordinates, written as PNG.
/// </summary>
public sealed class RasterPlot
{
    public static readonly (byte R, byte G, byte B)[] Palette =
        { (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75) };
    public static readonly string[] PaletteNames = { "blue", "orange", "green", "red", "purple", "brown" };

    private const int Margin = 16;
    private readonly int _width, _height;
    private readonly byte[] _rgb;
    private readonly double _x0, _x1, _y0, _y1;

    public RasterPlot(double xMin, double xMax, double yMin, double yMax, int width = 360, int height = 240)
    {
        (_width, _height) = (width, height);
        _rgb = Enumerable.Repeat((byte)255, width * height * 3).ToArray();
        (_x0, _x1) = Widen(xMin, xMax);
        (_y0, _y1) = Widen(yMin, yMax);
        for (int x = Margin; x < width - Margin / 2; x++) Set(x, height - Margin, (0, 0, 0));
        for (int y = Margin / 2; y <= height - Margin; y++) Set(Margin, y, (0, 0, 0));
        for (int t = 0; t <= 4; t++)
        {
            int tx = Margin + (width - Margin * 3 / 2) * t / 4, ty = height - Margin - (height - Margin * 3 / 2) * t / 4;
            for (int d = 1; d <= 4; d++)
            {
                Set(tx, height - Margin + d, (0, 0, 0));
                Set(Margin - d, ty, (0, 0, 0));
            }
        }
    }

    private static (double, double) Widen(double lo, double hi)
    {
        if (!double.IsFinite(lo) || !double.IsFinite(hi)) return (0, 1);
        return hi > lo ? (lo, hi) : (lo - 0.5, lo + 0.5);
    }

    private (int X, int Y) Pixel(double x, double y) =>
        ((int)Math.Round(Margin + (x - _x0) / (_x1 - _x0) * (_width - Margin * 3 / 2)),
         (int)Math.Round(_height - Margin - (y - _y0) / (_y1 - _y0) * (_height - Margin * 3 / 2)));

    private void Set(int x, int y, (byte R, byte G, byte B) c)
    {
        if (x < 0 || y < 0 || x >= _width || y >= _height) return;
        int o = (y * _width + x) * 3;
        (_rgb[o], _rgb[o + 1], _rgb[o + 2]) = c;
    }

    public void Marker(double x, double y, (byte R, byte G, byte B) colour, int radius = 3)
    {
        if (!double.IsFinite(x) || !double.IsFinite(y)) return;
        var (px, py) = Pixel(x, y);
        for (int dy = -radius; dy <= radius; dy++)
            for (int dx = -radius; dx <= radius; dx++) Set(px + dx, py + dy, colour);
    }

    public void Line(IReadOnlyList<(double X, double Y)> points, (byte R, byte G, byte B) colour)
    {
        var finite = points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToArray();
        for (int i = 0; i + 1 < finite.Length; i++)
        {
            var (ax, ay) = Pixel(finite[i].X, finite[i].Y);
            var (bx, by) = Pixel(finite[i + 1].X, finite[i + 1].Y);
            int steps = Math.Max(Math.Abs(bx - ax), Math.Abs(by - ay)) * 2 + 1;
            for (int s = 0; s <= steps; s++)
            {
                int x = ax + (bx - ax) * s / steps, y = ay + (by - ay) * s / steps;
                Set(x, y, colour);
                Set(x, y + 1, colour);
            }
        }
        foreach (var p in finite) Marker(p.X, p.Y, colour, 2);
    }

    public void Save(string path) => PngWriter.WriteRgb(path, _width, _height, _rgb);
}
