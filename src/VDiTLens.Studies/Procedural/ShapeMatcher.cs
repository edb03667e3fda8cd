namespace VDiTLens.Procedural;

/// <summary>
/// Scores an object's soft mask against each shape: the box of the pixels with mass ≥ ½ gives a centre and side, and
/// every shape's anti-aliased template is fitted over a small grid of centre offsets and sides around it; the score of
/// a shape is its best soft IoU (Σ min / Σ max), averaged over the frames where the object was found.
/// </summary>
internal static class ShapeMatcher
{
    private static readonly double[] Offsets = { -0.5, 0, 0.5 };
    private static readonly double[] SizeDeltas = { -1, -0.5, 0, 0.5, 1 };
    private const int TemplateSamples = 2;

    public sealed record Result(Dictionary<ObjectShape, double> Scores, double FillRatio, double SizePixels, int FramesUsed);

    /// <param name="mass">Soft mass, [frame * plane + pixel].</param>
    /// <param name="frames">Frames to use (those where the object was found).</param>
    public static Result Match(double[] mass, IReadOnlyList<int> frames, int height, int width)
    {
        var shapes = Enum.GetValues<ObjectShape>();
        var totals = shapes.ToDictionary(s => s, _ => 0.0);
        double fillTotal = 0, sizeTotal = 0;
        int used = 0, plane = height * width;
        foreach (int f in frames)
        {
            var frame = new ArraySegment<double>(mass, f * plane, plane);
            if (!Box(frame, height, width, out double cx, out double cy, out double side, out double boxArea)) continue;
            used++;
            sizeTotal += side;
            fillTotal += frame.Sum() / boxArea;
            foreach (var shape in shapes) totals[shape] += BestIoU(frame, shape, cx, cy, side, height, width);
        }
        var scores = shapes.ToDictionary(s => s, s => used > 0 ? totals[s] / used : 0.0);
        return new Result(scores, used > 0 ? fillTotal / used : 0, used > 0 ? sizeTotal / used : 0, used);
    }

    private static bool Box(ArraySegment<double> frame, int height, int width, out double cx, out double cy, out double side, out double area)
    {
        int x0 = width, x1 = -1, y0 = height, y1 = -1;
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            if (frame[y * width + x] < 0.5) continue;
            x0 = Math.Min(x0, x); x1 = Math.Max(x1, x);
            y0 = Math.Min(y0, y); y1 = Math.Max(y1, y);
        }
        cx = cy = side = area = 0;
        if (x1 < 0) return false;
        int w = x1 - x0 + 1, h = y1 - y0 + 1;
        cx = (x0 + x1 + 1) / 2.0;
        cy = (y0 + y1 + 1) / 2.0;
        side = Math.Max(w, h);
        area = w * h;
        return true;
    }

    /// <summary>Best IoU over the template grid, computed inside a window around the box (the template is zero outside it).</summary>
    private static double BestIoU(ArraySegment<double> frame, ObjectShape shape, double cx, double cy, double side, int height, int width)
    {
        double reach = (side + SizeDeltas[^1]) / 2 + Offsets[^1] + 1;
        int x0 = Math.Max(0, (int)Math.Floor(cx - reach)), x1 = Math.Min(width - 1, (int)Math.Ceiling(cx + reach));
        int y0 = Math.Max(0, (int)Math.Floor(cy - reach)), y1 = Math.Min(height - 1, (int)Math.Ceiling(cy + reach));
        double outside = frame.Sum();
        for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            outside -= frame[y * width + x];

        double best = 0;
        foreach (double delta in SizeDeltas)
        {
            double size = side + delta;
            if (size <= 0.5) continue;
            foreach (double ox in Offsets)
            foreach (double oy in Offsets)
            {
                double intersection = 0, union = Math.Max(outside, 0);
                for (int y = y0; y <= y1; y++)
                for (int x = x0; x <= x1; x++)
                {
                    double a = frame[y * width + x];
                    double t = ShapeGeometry.Coverage(shape, cx + ox, cy + oy, size, x, y, TemplateSamples);
                    intersection += Math.Min(a, t);
                    union += Math.Max(a, t);
                }
                if (union > 0) best = Math.Max(best, intersection / union);
            }
        }
        return best;
    }
}
