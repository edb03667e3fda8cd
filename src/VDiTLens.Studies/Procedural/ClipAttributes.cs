namespace VDiTLens.Procedural;

/// <summary>The shape of a procedural object. Every shape fills a square bounding box of side <see cref="ClipSpec.Size"/>.</summary>
/// <remarks>Chosen to stay distinguishable at 32×32: their bounding-box fill ratios are 1.0, π/4 ≈ 0.785, 0.5 and 5/9 ≈ 0.556,
/// and the triangle (apex up) is the only one whose mass sits below its box centre.</remarks>
public enum ObjectShape { Square, Circle, Triangle, Cross }

/// <summary>The colour of a procedural object; RGB values are in <see cref="Palette"/>.</summary>
public enum ObjectColour { Red, Green, Blue, Yellow, Magenta, White }

/// <summary>Direction of motion in image terms (up = towards row 0).</summary>
public enum MotionDirection { Left, Right, Up, Down }

/// <summary>How far the object travels over the whole clip: slow = a quarter, fast = half of the frame along its axis.</summary>
public enum MotionSpeed { Slow, Fast }

/// <summary>The static background: a plain dark grey, low-contrast per-pixel noise, or low-contrast diagonal stripes.</summary>
public enum BackgroundKind { Plain, Noisy, Striped }

/// <summary>Names, RGB values and displacements of the attributes.</summary>
public static class Palette
{
    /// <summary>Object colour as RGB in [0, 1]. Every colour has a channel at 1, far from the dark (≤ 0.25) backgrounds.</summary>
    public static (double R, double G, double B) Rgb(ObjectColour colour) => colour switch
    {
        ObjectColour.Red => (1.0, 0.0, 0.0),
        ObjectColour.Green => (0.0, 1.0, 0.0),
        ObjectColour.Blue => (0.0, 0.0, 1.0),
        ObjectColour.Yellow => (1.0, 1.0, 0.0),
        ObjectColour.Magenta => (1.0, 0.0, 1.0),
        ObjectColour.White => (1.0, 1.0, 1.0),
        _ => throw new ArgumentOutOfRangeException(nameof(colour)),
    };

    /// <summary>Unit step (dx, dy) in image coordinates (x right, y down).</summary>
    public static (int Dx, int Dy) Step(MotionDirection direction) => direction switch
    {
        MotionDirection.Left => (-1, 0),
        MotionDirection.Right => (1, 0),
        MotionDirection.Up => (0, -1),
        MotionDirection.Down => (0, 1),
        _ => throw new ArgumentOutOfRangeException(nameof(direction)),
    };

    /// <summary>Travel over the whole clip as a fraction of the frame's extent along the motion axis.</summary>
    public static double TravelFraction(MotionSpeed speed) => speed == MotionSpeed.Fast ? 0.5 : 0.25;

    /// <summary>The lower-case caption word of an attribute value (e.g. "red", "circle", "left").</summary>
    public static string Word<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}
