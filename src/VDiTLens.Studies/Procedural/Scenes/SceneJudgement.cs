namespace VDiTLens.Procedural.Scenes;

/// <summary>An axis-aligned box in pixel coordinates: columns [X0, X1), rows [Y0, Y1).</summary>
public readonly record struct PixelBox(double X0, double Y0, double X1, double Y1)
{
    public double Area => Math.Max(0, X1 - X0) * Math.Max(0, Y1 - Y0);

    public double IoU(PixelBox other)
    {
        double w = Math.Min(X1, other.X1) - Math.Max(X0, other.X0), h = Math.Min(Y1, other.Y1) - Math.Max(Y0, other.Y0);
        double intersection = Math.Max(0, w) * Math.Max(0, h);
        double union = Area + other.Area - intersection;
        return union > 0 ? intersection / union : 0;
    }
}

/// <summary>
/// What <see cref="SceneEvaluator"/> read about one object (found by its palette colour). A null attribute is unknown.
/// </summary>
/// <param name="Trajectory">Per-frame centroid of the object's visible pixels; null where it was not found.</param>
/// <param name="Boxes">Per-frame box of its visible pixels; null where it was not found.</param>
/// <param name="Direction">Direction of motion at the start of the clip (before any bounce).</param>
/// <param name="Speed">From the median per-frame displacement along the motion axis.</param>
public sealed record ObjectReading(
    ObjectColour Colour,
    ObjectShape? Shape,
    ObjectTexture? Texture,
    MotionDirection? Direction,
    MotionSpeed? Speed,
    IReadOnlyList<PixelPoint?> Trajectory,
    IReadOnlyList<PixelBox?> Boxes);

/// <summary>What <see cref="SceneEvaluator"/> read from a clip: the objects (in palette order) and the camera motion (null = unknown).</summary>
public sealed record SceneJudgement(IReadOnlyList<ObjectReading> Objects, CameraPan? Camera)
{
    public ObjectReading? Of(ObjectColour colour) => Objects.FirstOrDefault(o => o.Colour == colour);
}
