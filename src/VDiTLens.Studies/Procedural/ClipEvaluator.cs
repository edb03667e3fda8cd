using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Procedural;

/// <summary>
/// Reads colour, shape, direction and speed of the moving object of a clip by image processing alone (no model), to
/// judge generated videos against their prompts.
/// <list type="number">
/// <item>Segmentation (<see cref="ForegroundSegmentation"/>): border-median background per frame, foreground by
/// distance, each foreground pixel given the palette colour of its direction from the background, with soft mass α.</item>
/// <item>Object: among colours holding at least <see cref="MinCandidateShare"/> of the largest colour's mass and present
/// in at least half the frames, the one whose centroid travels furthest (so a static distractor is skipped).</item>
/// <item>Colour confidence: the object's share of all foreground mass except other static objects.</item>
/// <item>Shape (<see cref="ShapeMatcher"/>): best soft IoU with fitted templates; confidence = best IoU × margin over
/// the runner-up (scaled so a 0.15 margin is full confidence).</item>
/// <item>Direction: least-squares centroid velocity; dominant axis and its sign; confidence from axis dominance and
/// travel. Speed: travel fraction against the midpoint of slow (¼) and fast (½).</item>
/// </list>
/// Empty, blank, noisy or non-finite clips return unknown attributes with low confidence instead of throwing.
/// </summary>
public static class ClipEvaluator
{
    /// <summary>A colour counts as a candidate object when its mass is at least this share of the largest colour's.</summary>
    public const double MinCandidateShare = 0.2;
    /// <summary>Below this colour confidence the colour is reported unknown.</summary>
    public const double MinColourConfidence = 0.5;
    /// <summary>Below this best IoU the shape is reported unknown.</summary>
    public const double MinShapeIoU = 0.5;
    /// <summary>Objects with a smaller box side (pixels) have unknown shape.</summary>
    public const double MinShapeSizePixels = 3;
    /// <summary>Less travel (pixels over the clip) than this means no direction.</summary>
    public const double MinTravelPixels = 1.5;
    /// <summary>Below this direction confidence the direction is reported unknown.</summary>
    public const double MinDirectionConfidence = 0.3;
    /// <summary>An object covering more than this share of the frame is not an object (e.g. a noise field).</summary>
    public const double MaxObjectShare = 0.5;

    private const double ShapeMarginForFullConfidence = 0.15;
    private const double StaticTravelPixels = 1.0;

    /// <summary>Judges a clip [frames, 3, height, width] with values in [-1, 1] (any dtype or device).</summary>
    public static ClipJudgement Evaluate(Tensor clip)
    {
        if (clip.dim() != 4 || clip.shape[1] != 3)
            throw new VDiTLensException($"clip has shape [{string.Join(", ", clip.shape)}]; the evaluator needs [frames, 3, height, width] (use ClipRenderer.ToFramesFirst for [3, F, H, W])");
        int frames = (int)clip.shape[0], height = (int)clip.shape[2], width = (int)clip.shape[3];
        if (clip.numel() == 0) return ClipJudgement.Unknown(frames);
        using var cpu = clip.detach().to(ScalarType.Float32).cpu().contiguous();
        return Evaluate(cpu.data<float>().ToArray(), frames, height, width);
    }

    /// <summary>Judges a clip given as a flat array laid out [frames, 3, height, width], values in [-1, 1].</summary>
    public static ClipJudgement Evaluate(float[] pixels, int frames, int height, int width)
    {
        if (pixels.Length != (long)frames * 3 * height * width)
            throw new VDiTLensException($"clip array has {pixels.Length} values; [{frames}, 3, {height}, {width}] needs {(long)frames * 3 * height * width}");
        if (frames < 1 || height < 3 || width < 3) return ClipJudgement.Unknown(Math.Max(frames, 0));

        var segmentation = new ForegroundSegmentation(pixels, frames, height, width);
        var tracks = Enum.GetValues<ObjectColour>().Select(c => Track(segmentation, c)).ToArray();
        double largest = tracks.Max(t => t.TotalMass);
        if (largest <= 0) return ClipJudgement.Unknown(frames);

        var candidates = tracks
            .Where(t => t.TotalMass >= MinCandidateShare * largest && t.FramesPresent * 2 >= frames)
            .ToArray();
        if (candidates.Length == 0) return ClipJudgement.Unknown(frames);
        var chosen = candidates.MaxBy(t => t.TravelPixels)!;
        if (chosen.TotalMass / frames > MaxObjectShare * height * width) return ClipJudgement.Unknown(frames);

        double otherStatic = candidates.Where(t => t != chosen && t.TravelPixels < StaticTravelPixels).Sum(t => t.TotalMass);
        double colourConfidence = Math.Clamp(chosen.TotalMass / Math.Max(segmentation.ForegroundMass.Sum() - otherStatic, 1e-9), 0, 1);

        var presentFrames = Enumerable.Range(0, frames).Where(f => chosen.Trajectory[f] is not null).ToArray();
        var shapeFit = ShapeMatcher.Match(segmentation.Mass[(int)chosen.Colour], presentFrames, height, width);
        var ranked = shapeFit.Scores.OrderByDescending(kv => kv.Value).ToArray();
        double bestIoU = ranked[0].Value, runnerUp = ranked.Length > 1 ? ranked[1].Value : 0;
        double shapeConfidence = bestIoU * Math.Clamp((bestIoU - runnerUp) / ShapeMarginForFullConfidence, 0, 1);
        bool shapeKnown = bestIoU >= MinShapeIoU && shapeFit.SizePixels >= MinShapeSizePixels;

        var (direction, directionConfidence, speed, speedConfidence) = Motion(chosen.Velocity, frames, height, width);

        return new ClipJudgement(
            colourConfidence >= MinColourConfidence ? chosen.Colour : null, colourConfidence,
            shapeKnown ? ranked[0].Key : null, shapeKnown ? shapeConfidence : 0,
            direction, directionConfidence,
            speed, speedConfidence,
            chosen.Trajectory, shapeFit.Scores, shapeFit.FillRatio, shapeFit.SizePixels, chosen.Velocity);
    }

    private sealed record ColourTrack(ObjectColour Colour, double TotalMass, int FramesPresent, PixelPoint?[] Trajectory, PixelPoint Velocity)
    {
        public double TravelPixels => Math.Sqrt(Velocity.X * Velocity.X + Velocity.Y * Velocity.Y) * Math.Max(Trajectory.Length - 1, 0);
    }

    /// <summary>Mass, per-frame centroid (frames with at least one pixel's worth of mass) and fitted velocity of one colour.</summary>
    private static ColourTrack Track(ForegroundSegmentation s, ObjectColour colour)
    {
        double[] mass = s.Mass[(int)colour];
        var trajectory = new PixelPoint?[s.Frames];
        double total = 0;
        int present = 0;
        for (int f = 0; f < s.Frames; f++)
        {
            double m = 0, mx = 0, my = 0;
            for (int y = 0; y < s.Height; y++)
            for (int x = 0; x < s.Width; x++)
            {
                double a = mass[f * s.Plane + y * s.Width + x];
                m += a;
                mx += a * (x + 0.5);
                my += a * (y + 0.5);
            }
            total += m;
            if (m < 1) continue;
            trajectory[f] = new PixelPoint(mx / m, my / m);
            present++;
        }
        return new ColourTrack(colour, total, present, trajectory, FitVelocity(trajectory));
    }

    /// <summary>Least-squares slope of x(t) and y(t) over the frames with a centroid; zero with fewer than two.</summary>
    private static PixelPoint FitVelocity(PixelPoint?[] trajectory)
    {
        var points = trajectory.Select((p, t) => (p, t)).Where(e => e.p is not null).ToArray();
        if (points.Length < 2) return new PixelPoint(0, 0);
        double meanT = points.Average(e => e.t);
        double meanX = points.Average(e => e.p!.Value.X), meanY = points.Average(e => e.p!.Value.Y);
        double stt = points.Sum(e => (e.t - meanT) * (e.t - meanT));
        double stx = points.Sum(e => (e.t - meanT) * (e.p!.Value.X - meanX));
        double sty = points.Sum(e => (e.t - meanT) * (e.p!.Value.Y - meanY));
        return new PixelPoint(stx / stt, sty / stt);
    }

    private static (MotionDirection?, double, MotionSpeed?, double) Motion(PixelPoint velocity, int frames, int height, int width)
    {
        double ax = Math.Abs(velocity.X), ay = Math.Abs(velocity.Y);
        bool horizontal = ax >= ay;
        double major = horizontal ? ax : ay, minor = horizontal ? ay : ax;
        double travel = major * (frames - 1);
        if (travel < MinTravelPixels) return (null, 0, null, 0);
        double dominance = (major - minor) / (major + minor);
        double confidence = dominance * Math.Min(1, travel / (2 * MinTravelPixels));
        if (confidence < MinDirectionConfidence) return (null, confidence, null, 0);
        var direction = horizontal
            ? (velocity.X < 0 ? MotionDirection.Left : MotionDirection.Right)
            : (velocity.Y < 0 ? MotionDirection.Up : MotionDirection.Down);

        double fraction = travel / (horizontal ? width : height);
        double slow = Palette.TravelFraction(MotionSpeed.Slow), fast = Palette.TravelFraction(MotionSpeed.Fast);
        double midpoint = (slow + fast) / 2;
        var speed = fraction >= midpoint ? MotionSpeed.Fast : MotionSpeed.Slow;
        double speedConfidence = Math.Min(1, Math.Abs(fraction - midpoint) / ((fast - slow) / 2));
        return (direction, confidence, speed, speedConfidence);
    }
}
