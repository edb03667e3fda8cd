namespace VDiTLens.Procedural;

/// <summary>One sample: the spec to render and its caption.</summary>
public sealed record ProceduralExample(ClipSpec Spec, string Caption)
{
    public AttributeCombination Combination => AttributeCombination.Of(Spec);
}

/// <summary>Sampling ranges of <see cref="ProceduralDataset"/>. Defaults suit the embedded 9 × 32 × 32 pixel-space model.</summary>
/// <param name="Seed">Dataset seed; example <c>i</c> depends only on (Seed, i).</param>
/// <param name="MinSize">Smallest object box side as a fraction of min(height, width).</param>
/// <param name="MaxSize">Largest object box side as a fraction of min(height, width).</param>
/// <param name="DistractorProbability">Chance that a training example gets a static second object.</param>
public sealed record ProceduralDatasetOptions(
    int Seed = 0,
    int Frames = ClipSpec.DefaultFrames,
    int Height = ClipSpec.DefaultHeight,
    int Width = ClipSpec.DefaultWidth,
    double MinSize = 0.25,
    double MaxSize = 0.375,
    double MinTone = 0.04,
    double MaxTone = 0.2,
    double DistractorProbability = 0.0);

/// <summary>
/// Deterministic procedural (spec, caption) pairs. The training sampler draws uniformly from
/// <see cref="HeldOutSplit.Training"/> and never produces a held-out combination; the evaluation set draws only from
/// <see cref="HeldOutSplit.HeldOut"/>. Speed, background, size, position and tone are free in both.
/// Objects are placed so that they stay inside the frame, clear of its one-pixel border, for the whole clip.
/// </summary>
public sealed class ProceduralDataset
{
    /// <summary>Gap in pixels kept between the object's box and the frame edge, so the border ring stays background.</summary>
    private const double EdgeMargin = 1.0;
    private const long EvaluationSalt = 0x5EED_E7A1;

    public ProceduralDataset(ProceduralDatasetOptions? options = null)
    {
        Options = options ?? new ProceduralDatasetOptions();
        if (!(Options.MinSize > 0 && Options.MinSize <= Options.MaxSize && Options.MaxSize + 0.5 < 1))
            throw new VDiTLensException($"ProceduralDatasetOptions MinSize/MaxSize are {Options.MinSize}/{Options.MaxSize}; need 0 < MinSize ≤ MaxSize < 0.5 so a fast object fits");
    }

    public ProceduralDatasetOptions Options { get; }

    /// <summary>Training example number <paramref name="index"/> (any non-negative index; same result every call).</summary>
    public ProceduralExample Training(long index)
    {
        var random = RandomFor(Options.Seed, index);
        var combination = HeldOutSplit.Training[random.Next(HeldOutSplit.Training.Count)];
        bool distractor = random.NextDouble() < Options.DistractorProbability;
        return Build(random, combination, (MotionSpeed)random.Next(2), distractor);
    }

    /// <summary><paramref name="count"/> consecutive training examples starting at <paramref name="start"/>.</summary>
    public IEnumerable<ProceduralExample> TrainingExamples(int count, long start = 0)
    {
        for (long i = start; i < start + count; i++) yield return Training(i);
    }

    /// <summary>
    /// The evaluation set: for every held-out combination (in <see cref="HeldOutSplit.HeldOut"/> order),
    /// <paramref name="perCombination"/> examples alternating slow and fast, with no distractor.
    /// </summary>
    public IReadOnlyList<ProceduralExample> EvaluationSet(int perCombination = 2)
    {
        var examples = new List<ProceduralExample>();
        var heldOut = HeldOutSplit.HeldOut;
        for (int c = 0; c < heldOut.Count; c++)
        for (int k = 0; k < perCombination; k++)
        {
            var random = RandomFor(Options.Seed ^ EvaluationSalt, c * 10_000L + k);
            examples.Add(Build(random, heldOut[c], (MotionSpeed)(k % 2), distractor: false));
        }
        return examples;
    }

    private ProceduralExample Build(Random random, AttributeCombination combination, MotionSpeed speed, bool distractor)
    {
        var o = Options;
        var background = (BackgroundKind)random.Next(3);
        double size = o.MinSize + random.NextDouble() * (o.MaxSize - o.MinSize);
        double tone = o.MinTone + random.NextDouble() * (o.MaxTone - o.MinTone);
        int backgroundSeed = random.Next();
        var spec = new ClipSpec(combination.Shape, combination.Colour, combination.Direction, speed, background,
            0, 0, size, tone, backgroundSeed, null, o.Frames, o.Height, o.Width);

        double sizePixels = spec.SizePixels, travel = spec.TravelPixels;
        var (dx, dy) = Palette.Step(combination.Direction);
        double x = StartAlong(random, dx, o.Width, sizePixels, dx != 0 ? travel : 0) / o.Width;
        double y = StartAlong(random, dy, o.Height, sizePixels, dy != 0 ? travel : 0) / o.Height;
        spec = spec with { StartX = x, StartY = y };
        if (distractor) spec = spec with { Distractor = PlaceDistractor(random, spec) };
        return new ProceduralExample(spec, ClipCaption.For(spec));
    }

    /// <summary>A start centre (pixels) along one axis that keeps the box inside [0, extent] over the travel.</summary>
    private static double StartAlong(Random random, int sign, int extent, double size, double travel)
    {
        double low = size / 2 + EdgeMargin, high = extent - size / 2 - EdgeMargin;
        if (sign > 0) high -= travel;
        if (sign < 0) low += travel;
        return high <= low ? (low + high) / 2 : low + random.NextDouble() * (high - low);
    }

    /// <summary>A static object clear of the moving object's swept box, or null when none fits in a few tries.</summary>
    private static DistractorSpec? PlaceDistractor(Random random, ClipSpec spec)
    {
        var colours = Enum.GetValues<ObjectColour>().Where(c => c != spec.Colour).ToArray();
        var shapes = Enum.GetValues<ObjectShape>();
        var colour = colours[random.Next(colours.Length)];
        var shape = shapes[random.Next(shapes.Length)];
        while (HeldOutSplit.IsHeldOutPair(colour, shape)) shape = shapes[random.Next(shapes.Length)];
        double size = spec.Size * 0.8, sizePixels = size * Math.Min(spec.Height, spec.Width);

        var (x0, y0) = spec.CentreAt(0);
        var (x1, y1) = spec.CentreAt(spec.Frames - 1);
        double half = spec.SizePixels / 2 + sizePixels / 2 + 1;
        for (int attempt = 0; attempt < 20; attempt++)
        {
            double x = StartAlong(random, 0, spec.Width, sizePixels, 0);
            double y = StartAlong(random, 0, spec.Height, sizePixels, 0);
            bool clear = x < Math.Min(x0, x1) - half || x > Math.Max(x0, x1) + half
                      || y < Math.Min(y0, y1) - half || y > Math.Max(y0, y1) + half;
            if (clear) return new DistractorSpec(shape, colour, x / spec.Width, y / spec.Height, size);
        }
        return null;
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
