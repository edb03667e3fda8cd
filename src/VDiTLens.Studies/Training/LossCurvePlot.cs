using VDiTLens.IO.Video;
using VDiTLens.Reports;

namespace VDiTLens.Training;

/// <summary>
/// A loss curve rasterised to PNG without any font: log-scale y with light grid lines at 1, 2 and 5 × each decade
/// (darker at decades), linear x with a grid line every tenth of the run, raw points in light blue and a moving
/// average in dark blue.
/// </summary>
public static class LossCurvePlot
{
    public static void Write(string path, IReadOnlyList<LossPoint> points, int width = 800, int height = 400) =>
        PngWriter.WriteRgb(path, width, height, Render(points, width, height));

    public static byte[] Render(IReadOnlyList<LossPoint> points, int width, int height)
    {
        var image = new Canvas(width, height);
        const int margin = 20;
        var valid = points.Where(p => p.Loss > 0 && double.IsFinite(p.Loss)).ToList();
        image.Rectangle(margin, margin, width - margin, height - margin, (160, 160, 160));
        if (valid.Count < 2) return image.Pixels;

        double x0 = valid[0].Step, x1 = Math.Max(valid[^1].Step, x0 + 1);
        double y0 = Math.Log10(valid.Min(p => p.Loss)), y1 = Math.Log10(valid.Max(p => p.Loss));
        if (y1 - y0 < 1e-3) { y0 -= 0.5; y1 += 0.5; }
        int X(double step) => margin + (int)Math.Round((step - x0) / (x1 - x0) * (width - 2 * margin - 1));
        int Y(double logLoss) => height - margin - 1 - (int)Math.Round((logLoss - y0) / (y1 - y0) * (height - 2 * margin - 1));

        for (int decade = (int)Math.Floor(y0); decade <= (int)Math.Ceiling(y1); decade++)
            foreach (double m in new[] { 1.0, 2.0, 5.0 })
            {
                double v = decade + Math.Log10(m);
                if (v < y0 || v > y1) continue;
                image.HorizontalLine(margin, width - margin, Y(v), m == 1.0 ? ((byte)150, (byte)150, (byte)150) : ((byte)220, (byte)220, (byte)220));
            }
        for (int i = 1; i < 10; i++) image.VerticalLine(X(x0 + (x1 - x0) * i / 10), margin, height - margin, (230, 230, 230));

        for (int i = 1; i < valid.Count; i++)
            image.Line(X(valid[i - 1].Step), Y(Math.Log10(valid[i - 1].Loss)), X(valid[i].Step), Y(Math.Log10(valid[i].Loss)), (150, 190, 240));
        var smooth = MovingAverage(valid.Select(p => p.Loss).ToArray(), Math.Max(1, valid.Count / 40));
        for (int i = 1; i < valid.Count; i++)
            image.Line(X(valid[i - 1].Step), Y(Math.Log10(smooth[i - 1])), X(valid[i].Step), Y(Math.Log10(smooth[i])), (20, 60, 160));
        return image.Pixels;
    }

    /// <summary>Centred moving average with a window of 2·<paramref name="radius"/> + 1 (shrunk at the ends).</summary>
    public static double[] MovingAverage(double[] values, int radius)
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            int from = Math.Max(0, i - radius), to = Math.Min(values.Length - 1, i + radius);
            double sum = 0;
            for (int j = from; j <= to; j++) sum += values[j];
            result[i] = sum / (to - from + 1);
        }
        return result;
    }

    private sealed class Canvas(int width, int height)
    {
        public byte[] Pixels { get; } = Enumerable.Repeat((byte)255, width * height * 3).ToArray();

        public void Set(int x, int y, (byte R, byte G, byte B) c)
        {
            if (x < 0 || y < 0 || x >= width || y >= height) return;
            int i = (y * width + x) * 3;
            (Pixels[i], Pixels[i + 1], Pixels[i + 2]) = c;
        }

        public void HorizontalLine(int xa, int xb, int y, (byte, byte, byte) c) { for (int x = xa; x <= xb; x++) Set(x, y, c); }
        public void VerticalLine(int x, int ya, int yb, (byte, byte, byte) c) { for (int y = ya; y <= yb; y++) Set(x, y, c); }

        public void Rectangle(int xa, int ya, int xb, int yb, (byte, byte, byte) c)
        {
            HorizontalLine(xa, xb, ya, c); HorizontalLine(xa, xb, yb, c);
            VerticalLine(xa, ya, yb, c); VerticalLine(xb, ya, yb, c);
        }

        /// <summary>Bresenham line.</summary>
        public void Line(int xa, int ya, int xb, int yb, (byte, byte, byte) c)
        {
            int dx = Math.Abs(xb - xa), dy = -Math.Abs(yb - ya), sx = xa < xb ? 1 : -1, sy = ya < yb ? 1 : -1, err = dx + dy;
            while (true)
            {
                Set(xa, ya, c);
                if (xa == xb && ya == yb) break;
                int e2 = 2 * err;
                if (e2 >= dy) { err += dy; xa += sx; }
                if (e2 <= dx) { err += dx; ya += sy; }
            }
        }
    }
}
