namespace VDiTLens.Procedural;

/// <summary>A point in pixel coordinates (pixel i covers [i, i+1), so the frame centre of a 32-pixel axis is 16).</summary>
public readonly record struct PixelPoint(double X, double Y);

/// <summary>
/// What <see cref="ClipEvaluator"/> read from a clip. A null attribute means "unknown" (nothing object-like found, or
/// too little evidence); every confidence is in [0, 1].
/// </summary>
/// <param name="Trajectory">Per-frame mass centroid of the moving object; null in frames where it was not found.</param>
/// <param name="ShapeScores">Mean soft IoU of the object's mask with each shape's best-fitting template.</param>
/// <param name="FillRatio">Mean object mass divided by its bounding-box area (square ≈ 1, circle ≈ 0.79, cross ≈ 0.56, triangle ≈ 0.5).</param>
/// <param name="SizePixels">Mean side of the object's bounding box in pixels (0 when not found).</param>
/// <param name="Velocity">Least-squares centroid velocity in pixels per frame (image axes: +x right, +y down).</param>
public sealed record ClipJudgement(
    ObjectColour? Colour, double ColourConfidence,
    ObjectShape? Shape, double ShapeConfidence,
    MotionDirection? Direction, double DirectionConfidence,
    MotionSpeed? Speed, double SpeedConfidence,
    IReadOnlyList<PixelPoint?> Trajectory,
    IReadOnlyDictionary<ObjectShape, double> ShapeScores,
    double FillRatio,
    double SizePixels,
    PixelPoint Velocity)
{
    /// <summary>The weakest of the colour, shape and direction confidences.</summary>
    public double Confidence => Math.Min(ColourConfidence, Math.Min(ShapeConfidence, DirectionConfidence));

    /// <summary>A judgement with every attribute unknown and zero confidence.</summary>
    public static ClipJudgement Unknown(int frames) => new(
        null, 0, null, 0, null, 0, null, 0,
        new PixelPoint?[frames], Enum.GetValues<ObjectShape>().ToDictionary(s => s, _ => 0.0), 0, 0, new PixelPoint(0, 0));

    /// <summary>E.g. "red circle moving left quickly"; unknown attributes read "unknown".</summary>
    public string Describe() =>
        $"{Name(Colour)} {Name(Shape)} moving {Name(Direction)} {(Speed is { } s ? ClipCaption.SpeedWord(s) : "unknown")}";

    /// <summary>Whether colour, shape and direction all equal those of <paramref name="spec"/>.</summary>
    public bool Matches(ClipSpec spec) => Colour == spec.Colour && Shape == spec.Shape && Direction == spec.Direction;

    private static string Name<T>(T? value) where T : struct, Enum => value is { } v ? Palette.Word(v) : "unknown";
}
