using System.Text.Json.Serialization;
using VDiTLens.Pipelines;
using VDiTLens.Statistics;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// A source/target prompt pair that differs in what <see cref="Changes"/> names: "colour" or "shape" (single-object
/// clips, "+"-joined when both), "colour", "texture", "shape" or "camera" (scenes, <see cref="ScenePairs"/>).
/// </summary>
public sealed record EditPair(string Source, string Target, string Changes);

/// <summary>Which evaluator reads the videos: none (generic measures only), the single-object clip evaluator, or the scene evaluator.</summary>
public enum EditEvaluator { None, Clips, Scenes }

/// <summary>
/// The per-layer transfer study: which pairs, how many layers per band, the development and held-out seeds, the
/// target's noise, and the generation settings. The band is chosen on <see cref="DevSeeds"/> only and reported on
/// <see cref="TestSeeds"/> only (<see cref="EditSelection"/>).
/// </summary>
public sealed record EditStudyOptions : FirstFrameOptions
{
    private const string Tail = " moving right slowly on a plain background";

    public static readonly EditPair[] DefaultPairs =
    {
        new("a red circle" + Tail, "a blue circle" + Tail, "colour"),
        new("a green square" + Tail.Replace("right", "down"), "a yellow square" + Tail.Replace("right", "down"), "colour"),
        new("a red circle" + Tail, "a red square" + Tail, "shape"),
        new("a blue triangle" + Tail.Replace("right", "left"), "a blue cross" + Tail.Replace("right", "left"), "shape"),
    };

    public IReadOnlyList<EditPair> Pairs { get; init; } = DefaultPairs;
    /// <summary>Consecutive layers transferred together.</summary>
    public int Band { get; init; } = 1;
    /// <summary>Also transfer every self-attention layer at once (band "all").</summary>
    public bool IncludeAll { get; init; } = true;
    /// <summary>Seeds the band is chosen on.</summary>
    public IReadOnlyList<long> DevSeeds { get; init; } = new long[] { 0 };
    /// <summary>Held-out seeds the chosen band is reported on (at least 2, none in <see cref="DevSeeds"/>).</summary>
    public IReadOnlyList<long> TestSeeds { get; init; } = new long[] { 1, 2 };
    public TargetNoise TargetNoise { get; init; } = TargetNoise.Independent;
    public EditEvaluator Evaluator { get; init; } = EditEvaluator.Clips;
    /// <summary>A track is preserved when its mean distance to the source's is at most this share of the frame's shorter side.</summary>
    public double Tolerance { get; init; } = 0.05;
    public int Steps { get; init; } = 20;
    public double Guidance { get; init; } = 5.0;
    public int Frames { get; init; } = 9;
    public int Height { get; init; } = 32;
    public int Width { get; init; } = 32;
    public int MaxSequenceLength { get; init; } = 16;
    public IReadOnlyList<long> Heads { get; init; } = Array.Empty<long>();
    public int? MinStep { get; init; }
    public int? MaxStep { get; init; }
    public IReadOnlyList<string> Branches { get; init; } = Array.Empty<string>();
    /// <summary>At joint text-video sites, also transfer the text tokens' q and k.</summary>
    public bool TransferText { get; init; }
    public Bootstrap Bootstrap { get; init; } = new();

    /// <summary>Every seed of the study, development seeds first.</summary>
    public IReadOnlyList<long> Seeds => DevSeeds.Concat(TestSeeds).ToList();

    /// <summary><see cref="Tolerance"/> in pixels.</summary>
    public double TolerancePixels => Tolerance * Math.Min(Height, Width);

    public EditOptions EditFor(EditPair pair, IReadOnlyList<string> sites, long seed) => new()
    {
        SourcePrompt = pair.Source, TargetPrompt = pair.Target, Seed = seed, TargetNoise = TargetNoise, Steps = Steps, Guidance = Guidance,
        Frames = Frames, Height = Height, Width = Width, MaxSequenceLength = MaxSequenceLength, Image = Image,
        Sites = sites, Heads = Heads, MinStep = MinStep, MaxStep = MaxStep, Branches = Branches, TransferText = TransferText,
    };

    public void Validate()
    {
        if (Pairs.Count == 0) throw new VDiTLensException("Pairs: the edit study needs at least one prompt pair");
        if (Band < 1) throw new VDiTLensException($"Band {Band}: a band holds at least 1 block");
        if (Steps < 1) throw new VDiTLensException($"Steps {Steps}: at least 1 is needed");
        if (!(Tolerance > 0)) throw new VDiTLensException($"Tolerance {Tolerance}: must be positive (a share of the frame's shorter side)");
        SeedSplit.Validate(DevSeeds, TestSeeds);
    }
}
