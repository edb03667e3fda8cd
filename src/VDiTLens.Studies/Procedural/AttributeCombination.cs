namespace VDiTLens.Procedural;

/// <summary>The colour × shape × direction triple that the train/evaluation split is defined over.</summary>
public readonly record struct AttributeCombination(ObjectColour Colour, ObjectShape Shape, MotionDirection Direction)
{
    public static AttributeCombination Of(ClipSpec spec) => new(spec.Colour, spec.Shape, spec.Direction);

    /// <summary>All 6 × 4 × 4 = 96 combinations in enum order (colour, then shape, then direction).</summary>
    public static IReadOnlyList<AttributeCombination> All { get; } =
        (from colour in Enum.GetValues<ObjectColour>()
         from shape in Enum.GetValues<ObjectShape>()
         from direction in Enum.GetValues<MotionDirection>()
         select new AttributeCombination(colour, shape, direction)).ToArray();

    public override string ToString() => $"{Palette.Word(Colour)} {Palette.Word(Shape)} moving {Palette.Word(Direction)}";
}

/// <summary>
/// The held-out split: combinations the training sampler never produces, used to test compositional generalisation.
/// <list type="bullet">
/// <item>Three colour × shape pairs in every direction (12 combinations): green triangle, blue circle, yellow cross.
/// The model sees green, triangle, blue, circle, yellow and cross in other pairings, never these pairs (not even as a
/// static distractor).</item>
/// <item>Three single triples (3 combinations): red square moving up, magenta circle moving left, white triangle moving
/// down — their colour × shape pair is trained in the other three directions.</item>
/// </list>
/// 15 of 96 combinations (15.6 %) are held out; every colour, shape and direction, and every colour × direction and
/// shape × direction pair, still occurs in training.
/// </summary>
public static class HeldOutSplit
{
    /// <summary>Colour × shape pairs held out in every direction.</summary>
    public static IReadOnlyList<(ObjectColour Colour, ObjectShape Shape)> HeldOutPairs { get; } = new[]
    {
        (ObjectColour.Green, ObjectShape.Triangle),
        (ObjectColour.Blue, ObjectShape.Circle),
        (ObjectColour.Yellow, ObjectShape.Cross),
    };

    /// <summary>Single colour × shape × direction triples held out.</summary>
    public static IReadOnlyList<AttributeCombination> HeldOutTriples { get; } = new[]
    {
        new AttributeCombination(ObjectColour.Red, ObjectShape.Square, MotionDirection.Up),
        new AttributeCombination(ObjectColour.Magenta, ObjectShape.Circle, MotionDirection.Left),
        new AttributeCombination(ObjectColour.White, ObjectShape.Triangle, MotionDirection.Down),
    };

    /// <summary>All held-out combinations, in <see cref="AttributeCombination.All"/> order.</summary>
    public static IReadOnlyList<AttributeCombination> HeldOut { get; } =
        AttributeCombination.All.Where(IsHeldOutCore).ToArray();

    /// <summary>All combinations the training sampler draws from, in <see cref="AttributeCombination.All"/> order.</summary>
    public static IReadOnlyList<AttributeCombination> Training { get; } =
        AttributeCombination.All.Where(c => !IsHeldOutCore(c)).ToArray();

    public static bool IsHeldOut(AttributeCombination combination) => IsHeldOutCore(combination);

    public static bool IsHeldOut(ClipSpec spec) => IsHeldOutCore(AttributeCombination.Of(spec));

    /// <summary>Whether a colour × shape pair is held out in every direction (also excluded from distractors).</summary>
    public static bool IsHeldOutPair(ObjectColour colour, ObjectShape shape) => HeldOutPairs.Contains((colour, shape));

    private static bool IsHeldOutCore(AttributeCombination c) =>
        HeldOutPairs.Contains((c.Colour, c.Shape)) || HeldOutTriples.Contains(c);
}
