namespace VDiTLens.Reports;

/// <summary>One line of a <see cref="LineChart"/>: a y value per x (NaN = gap), drawn solid or dashed with square markers.</summary>
public sealed record LineSeries(string Name, IReadOnlyList<double> Y, (byte R, byte G, byte B) Colour, bool Dashed = false);

/// <summary>
/// A font-free line chart rasterised to RGB: white background, grey frame, light grid lines at quarters of the y range
/// and at every x, one polyline (Bresenham) with 5×5 markers per series. Axis names and the legend go in the HTML
/// caption (use <see cref="Legend"/>).
/// </summary>
public static class LineChart
{
    public const int Margin = 12;
    public static readonly (byte R, byte G, byte B)[] Colours =
    {
        (31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (23, 190, 207),
    };

    public static void Write(string path, IReadOnlyList<double> x, IReadOnlyList<LineSeries> series, double yMin, double yMax,
        int width = 480, int height = 240) =>
        PngWriter.WriteRgb(path, width, height, Render(x, series, yMin, yMax, width, height));

    /// <summary>Pixel column of <paramref name="value"/> on an x axis from <paramref name="x0"/> to <paramref name="x1"/>.</summary>
    public static int Column(double value, double x0, double x1, int width) =>
        Margin + (int)Math.Round(x1 > x0 ? (value - x0) / (x1 - x0) * (width - 2 * Margin - 1) : (width - 2 * Margin - 1) / 2.0);

    public static int Row(double value, double y0, double y1, int height) =>
        height - Margin - 1 - (int)Math.Round(Math.Clamp((value - y0) / (y1 - y0), 0, 1) * (height - 2 * Margin - 1));

    public static byte[] Render(IReadOnlyList<double> x, IReadOnlyList<LineSeries> series, double yMin, double yMax, int width, int height)
    {
        if (!(yMax > yMin)) throw new ArgumentException($"line chart y range [{yMin}, {yMax}] is empty");
        foreach (var s in series)
            if (s.Y.Count != x.Count) throw new ArgumentException($"series '{s.Name}' has {s.Y.Count} values for {x.Count} x positions");
        var pixels = Enumerable.Repeat((byte)255, width * height * 3).ToArray();
        void Set(int px, int py, (byte R, byte G, byte B) c)
        {
            if (px < 0 || py < 0 || px >= width || py >= height) return;
            int i = (py * width + px) * 3;
            (pixels[i], pixels[i + 1], pixels[i + 2]) = c;
        }
        double x0 = x.Count == 0 ? 0 : x.Min(), x1 = x.Count == 0 ? 1 : x.Max();
        (byte, byte, byte) grid = (225, 225, 225), frame = (150, 150, 150);
        for (int q = 1; q < 4; q++)
        {
            int gy = Row(yMin + (yMax - yMin) * q / 4, yMin, yMax, height);
            for (int px = Margin; px < width - Margin; px++) Set(px, gy, grid);
        }
        foreach (double v in x)
        {
            int gx = Column(v, x0, x1, width);
            for (int py = Margin; py < height - Margin; py++) Set(gx, py, grid);
        }
        for (int px = Margin - 1; px <= width - Margin; px++) { Set(px, Margin - 1, frame); Set(px, height - Margin, frame); }
        for (int py = Margin - 1; py <= height - Margin; py++) { Set(Margin - 1, py, frame); Set(width - Margin, py, frame); }

        foreach (var s in series)
        {
            (int X, int Y)? previous = null;
            for (int i = 0; i < x.Count; i++)
            {
                if (!double.IsFinite(s.Y[i])) { previous = null; continue; }
                var point = (Column(x[i], x0, x1, width), Row(s.Y[i], yMin, yMax, height));
                if (previous is { } p) Line(p.X, p.Y, point.Item1, point.Item2, s.Dashed, s.Colour, Set);
                for (int dy = -2; dy <= 2; dy++)
                    for (int dx = -2; dx <= 2; dx++) Set(point.Item1 + dx, point.Item2 + dy, s.Colour);
                previous = point;
            }
        }
        return pixels;
    }

    /// <summary>HTML legend: a coloured swatch and the name of each series.</summary>
    public static string Legend(IEnumerable<LineSeries> series) => string.Join(" ", series.Select(s =>
        $"<span style=\"color:rgb({s.Colour.R},{s.Colour.G},{s.Colour.B})\">{(s.Dashed ? "╌╌" : "━━")} {HtmlReport.Escape(s.Name)}</span>"));

    private static void Line(int xa, int ya, int xb, int yb, bool dashed, (byte, byte, byte) c, Action<int, int, (byte, byte, byte)> set)
    {
        int dx = Math.Abs(xb - xa), dy = -Math.Abs(yb - ya), sx = xa < xb ? 1 : -1, sy = ya < yb ? 1 : -1, err = dx + dy, n = 0;
        while (true)
        {
            if (!dashed || n++ % 8 < 5) set(xa, ya, c);
            if (xa == xb && ya == yb) break;
            int e2 = 2 * err;
            if (e2 >= dy) { err += dy; xa += sx; }
            if (e2 <= dx) { err += dx; ya += sy; }
        }
    }
}
