namespace VDiTLens.Procedural.Scenes;

/// <summary>One sample: the scene to render and its caption.</summary>
public sealed record SceneExample(SceneSpec Spec, string Caption);

/// <summary>Sampling ranges of <see cref="SceneDataset"/>. Defaults suit the 17 × 48 × 48 pixel-space model.</summary>
/// <param name="Seed">Dataset seed; example <c>i</c> depends only on (Seed, i).</param>
/// <param name="MinSize">Smallest object box side as a fraction of min(height, width).</param>
/// <param name="MaxSize">Largest object box side as a fraction of min(height, width).</param>
/// <param name="PanProbability">Chance that a scene over the noisy background has a panning camera.</param>
public sealed record SceneDatasetOptions(
    int Seed = 0,
    int Frames = 17,
    int Height = 48,
    int Width = 48,
    double MinSize = 0.2,
    double MaxSize = 0.3,
    double MinTone = 0.04,
    double MaxTone = 0.2,
    double PanProbability = 0.5);

/// <summary>
/// Deterministic multi-object scenes: 1–3 objects (uniform), distinct palette colours, shape, texture, direction and
/// speed uniform and independent, start anywhere inside the walls, drawn in sampled order (back to front). Background
/// uniform over plain, noisy and striped; over the noisy one the camera pans (direction uniform) with
/// <see cref="SceneDatasetOptions.PanProbability"/>. Every combination can occur (no held-out split).
/// </summary>
public sealed class SceneDataset
{
    private const long EvaluationSalt = 0x5CE7E5A1;

    public SceneDataset(SceneDatasetOptions? options = null)
    {
        Options = options ?? new SceneDatasetOptions();
        int side = Math.Min(Options.Height, Options.Width);
        if (!(Options.MinSize * side >= 3 && Options.MinSize <= Options.MaxSize && Options.MaxSize < 0.5))
            throw new VDiTLensException($"SceneDatasetOptions MinSize/MaxSize are {Options.MinSize}/{Options.MaxSize}; need MinSize·{side} ≥ 3 pixels and MinSize ≤ MaxSize < 0.5");
        if (Options.PanProbability is < 0 or > 1)
            throw new VDiTLensException($"SceneDatasetOptions PanProbability is {Options.PanProbability}; it must be in [0, 1]");
    }

    public SceneDatasetOptions Options { get; }

    /// <summary>Training example number <paramref name="index"/> (any non-negative index; same result every call).</summary>
    public SceneExample Training(long index) => Build(RandomFor(Options.Seed, index));

    /// <summary>Example <paramref name="index"/> of a set disjoint from the training stream (another seed salt).</summary>
    public SceneExample Evaluation(long index) => Build(RandomFor(Options.Seed ^ EvaluationSalt, index));

    private SceneExample Build(Random random)
    {
        var o = Options;
        int count = 1 + random.Next(SceneSpec.MaxObjects);
        var colours = Enum.GetValues<ObjectColour>().OrderBy(_ => random.Next()).Take(count).ToArray();
        var objects = new SceneObject[count];
        int side = Math.Min(o.Height, o.Width);
        for (int k = 0; k < count; k++)
        {
            double size = (o.MinSize + random.NextDouble() * (o.MaxSize - o.MinSize)) * side;
            var direction = (MotionDirection)random.Next(4);
            var speed = (MotionSpeed)random.Next(2);
            var (dx, dy) = Palette.Step(direction);
            double x = Start(random, dx, o.Width, size, SceneSpec.PixelsPerFrame(speed, o.Width, o.Frames));
            double y = Start(random, dy, o.Height, size, SceneSpec.PixelsPerFrame(speed, o.Height, o.Frames));
            objects[k] = new SceneObject((ObjectShape)random.Next(4), colours[k], (ObjectTexture)random.Next(3), direction, speed, x, y, size);
        }
        var background = (BackgroundKind)random.Next(3);
        var camera = background == BackgroundKind.Noisy && random.NextDouble() < o.PanProbability
            ? (CameraPan)(1 + random.Next(4)) : CameraPan.Static;
        double tone = o.MinTone + random.NextDouble() * (o.MaxTone - o.MinTone);
        var spec = new SceneSpec(objects, background, camera, tone, random.Next(), o.Frames, o.Height, o.Width);
        return new SceneExample(spec, SceneCaption.For(spec));
    }

    /// <summary>Frames of motion guaranteed before the first bounce, so the caption's direction is visible.</summary>
    public const int FramesBeforeBounce = 3;

    /// <summary>A start centre inside the walls, far enough from the wall ahead for <see cref="FramesBeforeBounce"/> frames of free motion.</summary>
    private static double Start(Random random, int sign, int extent, double size, double pixelsPerFrame)
    {
        double low = size / 2, high = extent - size / 2, run = sign == 0 ? 0 : Math.Min(FramesBeforeBounce * pixelsPerFrame, (high - low) / 2);
        if (sign > 0) high -= run;
        if (sign < 0) low += run;
        return low + random.NextDouble() * (high - low);
    }

    /// <summary>A System.Random seeded from (seed, index) through SplitMix64, so nearby indices are unrelated.</summary>
    private static Random RandomFor(long seed, long index)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)index + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return new Random((int)(z & 0x7FFF_FFFF));
    }
}
