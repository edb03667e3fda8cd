using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Procedural.Scenes;

/// <summary>
/// Reads every object of a multi-object clip and the camera motion by image processing alone (no model and no access to
/// the generator's parameters), to judge generated videos against their captions.
/// <list type="number">
/// <item>Segmentation (<see cref="ForegroundSegmentation"/>): per-palette-colour soft mass α of each pixel; the
/// object's support is min(1, α / <see cref="DarkAlpha"/>), so the dark parts of a texture count as object.</item>
/// <item>Objects: one per palette colour whose support covers at least <see cref="MinObjectPixels"/> pixels in at
/// least half the frames. Trajectory: per-frame support centroid; box: per-frame box of support ≥ ½.</item>
/// <item>Shape (<see cref="ShapeMatcher"/>) on the frames where the object shows at least
/// <see cref="UnoccludedShare"/> of its largest area (the least occluded ones).</item>
/// <item>Texture from α inside the object (pixels whose 4-neighbours are all object): mean horizontal and vertical
/// α steps; both small = solid, one much larger than the other = striped, similar = dotted.</item>
/// <item>Motion: axis of the larger median per-frame displacement; speed from that median against the midpoint of
/// slow and fast; direction from the sign of the first clear displacement (before any bounce).</item>
/// <item>Camera: for each pair of consecutive frames, the integer shift in [-2, 2]² that best matches the background
/// pixels (objects and a <see cref="MaxShift"/>-pixel ring around them masked); a shift must at least halve the error of
/// no shift. The shift found in more than half the pairs wins. Content moving right means the camera pans left.</item>
/// </list>
/// </summary>
public static class SceneEvaluator
{
    /// <summary>α of the dark parts of a texture against a dark background is about 0.5–0.6; below this it is scaled up to full support.</summary>
    public const double DarkAlpha = 0.45;
    public const double MinObjectPixels = 4;
    public const double UnoccludedShare = 0.85;
    public const double SolidStep = 0.06;
    public const double StripeAnisotropy = 0.45;
    public const double StaticPixelsPerFrame = 0.3;
    public const int MaxShift = 2;

    /// <summary>Judges a clip [frames, 3, height, width] with values in [-1, 1] (any dtype or device).</summary>
    public static SceneJudgement Evaluate(Tensor clip)
    {
        if (clip.dim() != 4 || clip.shape[1] != 3)
            throw new VDiTLensException($"clip has shape [{string.Join(", ", clip.shape)}]; the scene evaluator needs [frames, 3, height, width]");
        using var cpu = clip.detach().to(ScalarType.Float32).cpu().contiguous();
        return Evaluate(cpu.data<float>().ToArray(), (int)clip.shape[0], (int)clip.shape[2], (int)clip.shape[3]);
    }

    /// <summary>Judges a clip given as a flat array laid out [frames, 3, height, width], values in [-1, 1].</summary>
    public static SceneJudgement Evaluate(float[] pixels, int frames, int height, int width)
    {
        if (pixels.Length != (long)frames * 3 * height * width)
            throw new VDiTLensException($"clip array has {pixels.Length} values; [{frames}, 3, {height}, {width}] needs {(long)frames * 3 * height * width}");
        if (frames < 1 || height < 3 || width < 3) return new SceneJudgement(Array.Empty<ObjectReading>(), null);
        var segmentation = new ForegroundSegmentation(pixels, frames, height, width);
        var objects = new List<ObjectReading>();
        foreach (var colour in Enum.GetValues<ObjectColour>())
            if (Read(segmentation, colour) is { } reading) objects.Add(reading);
        return new SceneJudgement(objects, Camera(pixels, segmentation));
    }

    private static ObjectReading? Read(ForegroundSegmentation s, ObjectColour colour)
    {
        double[] alpha = s.Mass[(int)colour];
        var support = alpha.Select(a => Math.Min(1, a / DarkAlpha)).ToArray();
        var area = new double[s.Frames];
        var trajectory = new PixelPoint?[s.Frames];
        var boxes = new PixelBox?[s.Frames];
        for (int f = 0; f < s.Frames; f++)
        {
            double m = 0, mx = 0, my = 0;
            int x0 = s.Width, x1 = -1, y0 = s.Height, y1 = -1;
            for (int y = 0; y < s.Height; y++)
            for (int x = 0; x < s.Width; x++)
            {
                double a = support[f * s.Plane + y * s.Width + x];
                m += a;
                mx += a * (x + 0.5);
                my += a * (y + 0.5);
                if (a < 0.5) continue;
                x0 = Math.Min(x0, x); x1 = Math.Max(x1, x);
                y0 = Math.Min(y0, y); y1 = Math.Max(y1, y);
            }
            area[f] = m;
            if (m < MinObjectPixels || x1 < 0) continue;
            trajectory[f] = new PixelPoint(mx / m, my / m);
            boxes[f] = new PixelBox(x0, y0, x1 + 1, y1 + 1);
        }
        int present = trajectory.Count(p => p is not null);
        if (present * 2 < s.Frames) return null;

        double largest = area.Max();
        var clear = Enumerable.Range(0, s.Frames).Where(f => trajectory[f] is not null && area[f] >= UnoccludedShare * largest).ToArray();
        var fit = ShapeMatcher.Match(support, clear, s.Height, s.Width);
        var best = fit.Scores.MaxBy(kv => kv.Value);
        ObjectShape? shape = best.Value >= ClipEvaluator.MinShapeIoU ? best.Key : null;
        var (direction, speed) = Motion(trajectory, s.Frames, s.Height, s.Width);
        return new ObjectReading(colour, shape, Texture(alpha, support, clear, s), direction, speed, trajectory, boxes);
    }

    private static ObjectTexture? Texture(double[] alpha, double[] support, int[] frames, ForegroundSegmentation s)
    {
        double gx = 0, gy = 0;
        int nx = 0, ny = 0;
        bool Inside(int f, int x, int y) =>
            x > 0 && y > 0 && x < s.Width - 1 && y < s.Height - 1
            && support[f * s.Plane + y * s.Width + x] >= 0.99
            && support[f * s.Plane + y * s.Width + x - 1] >= 0.99 && support[f * s.Plane + y * s.Width + x + 1] >= 0.99
            && support[f * s.Plane + (y - 1) * s.Width + x] >= 0.99 && support[f * s.Plane + (y + 1) * s.Width + x] >= 0.99;
        foreach (int f in frames)
        for (int y = 1; y < s.Height - 1; y++)
        for (int x = 1; x < s.Width - 1; x++)
        {
            if (!Inside(f, x, y)) continue;
            double a = alpha[f * s.Plane + y * s.Width + x];
            if (Inside(f, x + 1, y)) { gx += Math.Abs(alpha[f * s.Plane + y * s.Width + x + 1] - a); nx++; }
            if (Inside(f, x, y + 1)) { gy += Math.Abs(alpha[f * s.Plane + (y + 1) * s.Width + x] - a); ny++; }
        }
        if (nx + ny < 4) return null;
        gx = nx > 0 ? gx / nx : 0;
        gy = ny > 0 ? gy / ny : 0;
        double high = Math.Max(gx, gy), low = Math.Min(gx, gy);
        if (high < SolidStep) return ObjectTexture.Solid;
        return low / high < StripeAnisotropy ? ObjectTexture.Striped : ObjectTexture.Dotted;
    }

    private static (MotionDirection?, MotionSpeed?) Motion(PixelPoint?[] trajectory, int frames, int height, int width)
    {
        var steps = new List<(double Dx, double Dy)>();
        for (int f = 1; f < frames; f++)
            if (trajectory[f] is { } b && trajectory[f - 1] is { } a) steps.Add((b.X - a.X, b.Y - a.Y));
        if (steps.Count == 0) return (null, null);
        double mx = Statistics.Quantiles.Median(steps.Select(d => Math.Abs(d.Dx)));
        double my = Statistics.Quantiles.Median(steps.Select(d => Math.Abs(d.Dy)));
        bool horizontal = mx >= my;
        double median = horizontal ? mx : my;
        if (median < StaticPixelsPerFrame) return (null, null);
        double first = steps.Select(d => horizontal ? d.Dx : d.Dy).First(d => Math.Abs(d) >= median / 2);
        var direction = horizontal
            ? (first < 0 ? MotionDirection.Left : MotionDirection.Right)
            : (first < 0 ? MotionDirection.Up : MotionDirection.Down);
        int extent = horizontal ? width : height;
        double midpoint = (SceneSpec.PixelsPerFrame(MotionSpeed.Slow, extent, frames) + SceneSpec.PixelsPerFrame(MotionSpeed.Fast, extent, frames)) / 2;
        return (direction, median >= midpoint ? MotionSpeed.Fast : MotionSpeed.Slow);
    }

    private static CameraPan? Camera(float[] pixels, ForegroundSegmentation s)
    {
        if (s.Frames < 2) return CameraPan.Static;
        int plane = s.Plane, w = s.Width, h = s.Height;
        var grey = new double[s.Frames * plane];
        var isObject = new bool[s.Frames * plane];
        for (int f = 0; f < s.Frames; f++)
        for (int i = 0; i < plane; i++)
        {
            double sum = 0;
            for (int c = 0; c < 3; c++) sum += pixels[(f * 3 + c) * plane + i];
            grey[f * plane + i] = float.IsFinite((float)sum) ? sum / 3 : 0;
            foreach (var mass in s.Mass)
                if (mass[f * plane + i] > 0)
                    for (int dy = -MaxShift; dy <= MaxShift; dy++)
                    for (int dx = -MaxShift; dx <= MaxShift; dx++)
                    {
                        int x = i % w + dx, y = i / w + dy;
                        if (x >= 0 && y >= 0 && x < w && y < h) isObject[f * plane + y * w + x] = true;
                    }
        }
        var votes = new Dictionary<(int, int), int>();
        for (int f = 1; f < s.Frames; f++)
        {
            (int, int) best = (0, 0);
            double still = Error(f, 0, 0), bestError = still / 2;
            for (int sy = -MaxShift; sy <= MaxShift; sy++)
            for (int sx = -MaxShift; sx <= MaxShift; sx++)
            {
                double error = Error(f, sx, sy);
                if (error < bestError - 1e-9) { bestError = error; best = (sx, sy); }
            }
            votes[best] = votes.GetValueOrDefault(best) + 1;
        }
        var (shift, count) = votes.MaxBy(kv => kv.Value);
        if (count * 2 <= s.Frames - 1) return null;
        return shift switch
        {
            (0, 0) => CameraPan.Static,
            (1, 0) => CameraPan.Left,
            (-1, 0) => CameraPan.Right,
            (0, 1) => CameraPan.Up,
            (0, -1) => CameraPan.Down,
            _ => null,
        };

        // Mean squared grey difference between frame f at (x, y) and frame f − 1 at (x − sx, y − sy), background only.
        double Error(int f, int sx, int sy)
        {
            double sum = 0;
            int n = 0;
            for (int y = MaxShift; y < h - MaxShift; y++)
            for (int x = MaxShift; x < w - MaxShift; x++)
            {
                int i = f * plane + y * w + x, j = (f - 1) * plane + (y - sy) * w + (x - sx);
                if (isObject[i] || isObject[j]) continue;
                double d = grey[i] - grey[j];
                sum += d * d;
                n++;
            }
            return n > 0 ? sum / n : double.PositiveInfinity;
        }
    }
}
