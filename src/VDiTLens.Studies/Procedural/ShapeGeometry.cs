namespace VDiTLens.Procedural;

/// <summary>Point-in-shape tests and pixel coverage shared by the renderer and the evaluator's templates.</summary>
internal static class ShapeGeometry
{
    /// <summary>Whether offset (dx, dy) from the box centre lies inside <paramref name="shape"/> with box side <paramref name="size"/>.</summary>
    public static bool Contains(ObjectShape shape, double dx, double dy, double size)
    {
        double h = size / 2;
        double ax = Math.Abs(dx), ay = Math.Abs(dy);
        return shape switch
        {
            ObjectShape.Square => ax <= h && ay <= h,
            ObjectShape.Circle => dx * dx + dy * dy <= h * h,
            // Apex at the top centre, base along the bottom edge: half-width grows from 0 to h.
            ObjectShape.Triangle => dy >= -h && dy <= h && ax <= (dy + h) / 2,
            ObjectShape.Cross => (ax <= h && ay <= size / 6) || (ax <= size / 6 && ay <= h),
            _ => throw new ArgumentOutOfRangeException(nameof(shape)),
        };
    }

    /// <summary>Fraction of pixel (px, py) covered by the shape centred at (cx, cy), from samples×samples point tests.</summary>
    public static double Coverage(ObjectShape shape, double cx, double cy, double size, int px, int py, int samples)
    {
        if (samples <= 1) return Contains(shape, px + 0.5 - cx, py + 0.5 - cy, size) ? 1.0 : 0.0;
        int inside = 0;
        for (int sy = 0; sy < samples; sy++)
        for (int sx = 0; sx < samples; sx++)
            if (Contains(shape, px + (sx + 0.5) / samples - cx, py + (sy + 0.5) / samples - cy, size)) inside++;
        return (double)inside / (samples * samples);
    }

    /// <summary>Coverage of every pixel of an H×W frame (zero outside the shape's box), row-major.</summary>
    public static double[] CoverageMap(ObjectShape shape, double cx, double cy, double size, int height, int width, int samples)
    {
        var map = new double[height * width];
        double h = size / 2;
        int x0 = Math.Max(0, (int)Math.Floor(cx - h)), x1 = Math.Min(width - 1, (int)Math.Ceiling(cx + h));
        int y0 = Math.Max(0, (int)Math.Floor(cy - h)), y1 = Math.Min(height - 1, (int)Math.Ceiling(cy + h));
        for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            map[y * width + x] = Coverage(shape, cx, cy, size, x, y, samples);
        return map;
    }
}
