namespace VDiTLens.Procedural.Scenes;

/// <summary>The surface of an object: one flat colour, vertical stripes, or a grid of dots (dark parts at <see cref="SceneSpec.DarkShade"/> of the colour).</summary>
public enum ObjectTexture { Solid, Striped, Dotted }

/// <summary>
/// Camera motion: static, or a pan at <see cref="SceneSpec.PanPixelsPerFrame"/> pixels per frame. A camera panning left
/// makes the background content move right on screen.
/// </summary>
public enum CameraPan { Static, Left, Right, Up, Down }

/// <summary>
/// One object of a scene. It moves along one axis at a constant speed and bounces off the frame's walls.
/// </summary>
/// <param name="StartX">Centre at frame 0 in pixels (pixel i covers [i, i+1)).</param>
/// <param name="StartY">Centre at frame 0 in pixels.</param>
/// <param name="SizePixels">Side of the object's square bounding box in pixels.</param>
public sealed record SceneObject(
    ObjectShape Shape,
    ObjectColour Colour,
    ObjectTexture Texture,
    MotionDirection Direction,
    MotionSpeed Speed,
    double StartX,
    double StartY,
    double SizePixels);

/// <summary>
/// Everything that determines a multi-object procedural clip: 1–3 objects (each its own palette colour), drawn back to
/// front in list order (later objects occlude earlier ones), over a background that a panning camera translates.
/// Objects move in screen coordinates, independently of the camera. Rendering a spec is deterministic.
/// </summary>
public sealed record SceneSpec(
    IReadOnlyList<SceneObject> Objects,
    BackgroundKind Background,
    CameraPan Camera,
    double BackgroundTone,
    int BackgroundSeed,
    int Frames,
    int Height,
    int Width)
{
    public const int MaxObjects = 3;
    /// <summary>The dark parts of a striped or dotted object have this share of the palette colour.</summary>
    public const double DarkShade = 0.6;
    /// <summary>Period in pixels of stripes and of the dot grid.</summary>
    public const double TexturePeriod = 4;
    public const int PanPixelsPerFrame = 1;

    /// <summary>Travel over the clip (before bounces) as a fraction of the frame's extent along the motion axis.</summary>
    public static double TravelFraction(MotionSpeed speed) => speed == MotionSpeed.Fast ? 0.9 : 0.35;

    /// <summary>Speed in pixels per frame of <paramref name="speed"/> along an axis of <paramref name="extent"/> pixels in a clip of <paramref name="frames"/>.</summary>
    public static double PixelsPerFrame(MotionSpeed speed, int extent, int frames) => TravelFraction(speed) * extent / Math.Max(frames - 1, 1);

    /// <summary>Centre of object <paramref name="index"/> at <paramref name="frame"/>: straight motion reflected off the walls.</summary>
    public (double X, double Y) CentreAt(int index, int frame)
    {
        var o = Objects[index];
        var (dx, dy) = Palette.Step(o.Direction);
        double half = o.SizePixels / 2;
        double x = dx == 0 ? o.StartX : Reflect(o.StartX + dx * PixelsPerFrame(o.Speed, Width, Frames) * frame, half, Width - half);
        double y = dy == 0 ? o.StartY : Reflect(o.StartY + dy * PixelsPerFrame(o.Speed, Height, Frames) * frame, half, Height - half);
        return (x, y);
    }

    /// <summary>Background content offset (pixels) at <paramref name="frame"/>: the screen shows world point (x + X, y + Y).</summary>
    public (int X, int Y) CameraOffsetAt(int frame) => Camera switch
    {
        CameraPan.Left => (-PanPixelsPerFrame * frame, 0),
        CameraPan.Right => (PanPixelsPerFrame * frame, 0),
        CameraPan.Up => (0, -PanPixelsPerFrame * frame),
        CameraPan.Down => (0, PanPixelsPerFrame * frame),
        _ => (0, 0),
    };

    /// <summary>Position inside [low, high] of a point moving freely, folded back at both ends (a bounce).</summary>
    public static double Reflect(double position, double low, double high)
    {
        double length = high - low;
        if (length <= 0) return (low + high) / 2;
        double u = (position - low) % (2 * length);
        if (u < 0) u += 2 * length;
        return low + (u <= length ? u : 2 * length - u);
    }

    /// <summary>Throws <see cref="VDiTLensException"/> naming the first field that is out of range.</summary>
    public void Validate()
    {
        if (Objects.Count is < 1 or > MaxObjects) throw new VDiTLensException($"SceneSpec.Objects has {Objects.Count} objects; it must have 1 to {MaxObjects}");
        if (Objects.Select(o => o.Colour).Distinct().Count() != Objects.Count)
            throw new VDiTLensException($"SceneSpec.Objects repeat a colour ({string.Join(", ", Objects.Select(o => o.Colour))}); every object needs its own palette colour");
        if (Frames < 1) throw new VDiTLensException($"SceneSpec.Frames is {Frames}; it must be at least 1");
        if (Height < 8 || Width < 8) throw new VDiTLensException($"SceneSpec.Height/Width are {Height}×{Width}; both must be at least 8");
        if (!(BackgroundTone >= 0 && BackgroundTone <= 0.25)) throw new VDiTLensException($"SceneSpec.BackgroundTone is {BackgroundTone}; it must be in [0, 0.25]");
        if (Camera != CameraPan.Static && Background != BackgroundKind.Noisy)
            throw new VDiTLensException($"SceneSpec.Camera is {Camera} over a {Background} background; a pan needs the Noisy background to be visible");
        foreach (var o in Objects)
            if (!(o.SizePixels >= 3 && o.SizePixels < Math.Min(Height, Width) / 2.0))
                throw new VDiTLensException($"SceneObject.SizePixels is {o.SizePixels}; it must be in [3, {Math.Min(Height, Width) / 2.0})");
    }
}
