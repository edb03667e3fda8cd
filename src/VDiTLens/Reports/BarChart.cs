namespace VDiTLens.Reports;

/// <summary>
/// A plain bar chart PNG (no text: captions and numbers go in the HTML/CSV beside it). Bars are drawn left to right
/// from 0 to the largest value, coloured by height with the heatmap's colour map, on a white background with a baseline.
/// </summary>
public static class BarChart
{
    public static void Write(string path, IReadOnlyList<double> values, int barWidth = 12, int height = 160, int gap = 2)
    {
        if (values.Count == 0) throw new VDiTLensException($"{path}: a bar chart needs at least one value");
        int margin = 4;
        int width = margin * 2 + values.Count * (barWidth + gap);
        int total = height + margin * 2;
        var rgb = Enumerable.Repeat((byte)255, width * total * 3).ToArray();
        double max = values.Where(double.IsFinite).DefaultIfEmpty(0).Max();
        for (int i = 0; i < values.Count; i++)
        {
            double v = double.IsFinite(values[i]) ? Math.Max(0, values[i]) : 0;
            double t = max > 0 ? v / max : 0;
            int bar = (int)Math.Round(t * height);
            var (r, g, b) = Heatmap.Colour(t);
            int x0 = margin + i * (barWidth + gap);
            for (int y = total - margin - bar; y < total - margin; y++)
                for (int x = x0; x < x0 + barWidth; x++)
                    Set(rgb, width, x, y, r, g, b);
        }
        for (int x = 0; x < width; x++) Set(rgb, width, x, total - margin, 0, 0, 0);
        PngWriter.WriteRgb(path, width, total, rgb);
    }

    private static void Set(byte[] rgb, int width, int x, int y, byte r, byte g, byte b)
    {
        int o = (y * width + x) * 3;
        if (o < 0 || o + 2 >= rgb.Length) return;
        rgb[o] = r;
        rgb[o + 1] = g;
        rgb[o + 2] = b;
    }
}
