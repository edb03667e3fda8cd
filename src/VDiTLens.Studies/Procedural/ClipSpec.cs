namespace VDiTLens.Procedural;

/// <summary>
/// Everything that determines a procedural clip: one object of <paramref name="Shape"/> and <paramref name="Colour"/>
/// moving in a straight line at constant speed over a static background, optionally with a static
/// <paramref name="Distractor"/>. Rendering a spec is deterministic.
/// </summary>
/// <param name="StartX">Object centre at frame 0, as a fraction of the width (0 = left edge).</param>
/// <param name="StartY">Object centre at frame 0, as a fraction of the height (0 = top edge).</param>
/// <param name="Size">Side of the object's square bounding box, as a fraction of min(height, width).</param>
/// <param name="BackgroundTone">Grey level of the background in [0, 1]; keep it dark (≤ 0.2) so it never resembles an object colour.</param>
/// <param name="BackgroundSeed">Seed of the noise or stripe phase of a textured background.</param>
/// <param name="Frames">Number of frames (the object moves from its start to start + travel between frame 0 and the last).</param>
public sealed record ClipSpec(
    ObjectShape Shape,
    ObjectColour Colour,
    MotionDirection Direction,
    MotionSpeed Speed,
    BackgroundKind Background,
    double StartX,
    double StartY,
    double Size,
    double BackgroundTone = 0.12,
    int BackgroundSeed = 0,
    DistractorSpec? Distractor = null,
    int Frames = ClipSpec.DefaultFrames,
    int Height = ClipSpec.DefaultHeight,
    int Width = ClipSpec.DefaultWidth)
{
    public const int DefaultFrames = 9;
    public const int DefaultHeight = 32;
    public const int DefaultWidth = 32;

    /// <summary>Object bounding-box side in pixels.</summary>
    public double SizePixels => Size * Math.Min(Height, Width);

    /// <summary>Total travel in pixels over the clip (along the motion axis).</summary>
    public double TravelPixels
    {
        get
        {
            var (dx, _) = Palette.Step(Direction);
            return Palette.TravelFraction(Speed) * (dx != 0 ? Width : Height);
        }
    }

    /// <summary>Object centre of <paramref name="frame"/> in pixel coordinates (pixel i covers [i, i+1)).</summary>
    public (double X, double Y) CentreAt(int frame)
    {
        var (dx, dy) = Palette.Step(Direction);
        double t = Frames > 1 ? (double)frame / (Frames - 1) : 0.0;
        return (StartX * Width + dx * TravelPixels * t, StartY * Height + dy * TravelPixels * t);
    }

    /// <summary>Throws <see cref="VDiTLensException"/> naming the first field that is out of range.</summary>
    public void Validate()
    {
        if (Frames < 1) throw new VDiTLensException($"ClipSpec.Frames is {Frames}; it must be at least 1");
        if (Height < 4 || Width < 4) throw new VDiTLensException($"ClipSpec.Height/Width are {Height}×{Width}; both must be at least 4");
        if (!(Size > 0 && Size <= 1)) throw new VDiTLensException($"ClipSpec.Size is {Size}; it must be in (0, 1]");
        if (!(BackgroundTone >= 0 && BackgroundTone <= 1)) throw new VDiTLensException($"ClipSpec.BackgroundTone is {BackgroundTone}; it must be in [0, 1]");
        if (Distractor is { } d && d.Colour == Colour)
            throw new VDiTLensException($"ClipSpec.Distractor has the object's colour ({Colour}); pick another so the two stay separable");
    }
}

/// <summary>A static second object. Position and size use the same fractions as <see cref="ClipSpec"/>.</summary>
public sealed record DistractorSpec(ObjectShape Shape, ObjectColour Colour, double X, double Y, double Size);
