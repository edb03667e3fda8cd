using System.Text.Json.Serialization;
using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>A source/target prompt pair that differs in one attribute (<see cref="Changes"/>: "colour" or "shape").</summary>
public sealed record EditPair(string Source, string Target, string Changes);

/// <summary>The per-layer transfer study: which pairs, how many layers per band, and the generation settings.</summary>
public sealed record EditStudyOptions
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
    public long Seed { get; init; }
    public int Steps { get; init; } = 20;
    public double Guidance { get; init; } = 5.0;
    public int Frames { get; init; } = 9;
    public int Height { get; init; } = 32;
    public int Width { get; init; } = 32;
    public int MaxSequenceLength { get; init; } = 16;
    /// <summary>
    /// The first frame of image-to-video folders (<see cref="GenerationRequest.Image"/>, [1, 3, Height, Width] in [0, 1]),
    /// the same for every prompt; recorded by <see cref="ImageHash"/>.
    /// </summary>
    [JsonIgnore]
    public Tensor? Image { get => _image; init { _image = value; _imageHash = GenerationSettings.ImageHash(value); } }
    private readonly Tensor? _image;

    /// <summary>What the saved settings hold of <see cref="Image"/> (<see cref="GenerationSettings.ImageHash"/>); null without one.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]   // settings saved without an image keep their text
    public string? ImageHash { get => _imageHash; init => _imageHash = value; }
    private readonly string? _imageHash;
    public IReadOnlyList<long> Heads { get; init; } = Array.Empty<long>();
    public int? MinStep { get; init; }
    public int? MaxStep { get; init; }
    public IReadOnlyList<string> Branches { get; init; } = Array.Empty<string>();
    /// <summary>At joint text-video sites, also transfer the text tokens' q and k.</summary>
    public bool TransferText { get; init; }
    /// <summary>Measure with the procedural clip evaluator too (only meaningful on models trained on procedural clips).</summary>
    public bool Evaluate { get; init; } = true;

    public EditOptions EditFor(EditPair pair, IReadOnlyList<string> sites) => new()
    {
        SourcePrompt = pair.Source, TargetPrompt = pair.Target, Seed = Seed, Steps = Steps, Guidance = Guidance,
        Frames = Frames, Height = Height, Width = Width, MaxSequenceLength = MaxSequenceLength, Image = Image,
        Sites = sites, Heads = Heads, MinStep = MinStep, MaxStep = MaxStep, Branches = Branches, TransferText = TransferText,
    };

    /// <summary>Everything but the band and pair that determines a cell's result.</summary>
    public string Fingerprint(string model) => string.Join("|", model, Seed, Steps, Guidance, Frames, Height, Width, MaxSequenceLength,
        string.Join(",", Heads), MinStep, MaxStep, string.Join(",", Branches), TransferText, Evaluate) + (ImageHash is { } image ? "|image=" + image : "");

    public void Validate()
    {
        if (Pairs.Count == 0) throw new VDiTLensException("Pairs: the edit study needs at least one prompt pair");
        if (Band < 1) throw new VDiTLensException($"Band {Band}: a band holds at least 1 block");
        if (Steps < 1) throw new VDiTLensException($"Steps {Steps}: at least 1 is needed");
    }
}
