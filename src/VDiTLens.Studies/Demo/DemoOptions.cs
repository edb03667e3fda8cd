using VDiTLens.Reports.Explorer;

namespace VDiTLens.Demo;

/// <summary>What the demo generates and probes. Defaults suit the embedded model (9 frames × 32 × 32).</summary>
public sealed record DemoOptions
{
    public static readonly string[] DefaultPrompts =
    {
        "a red circle moving right quickly on a plain background",
        "a yellow square moving down slowly on a striped background",
        "a green triangle moving left quickly on a plain background",   // held-out combination
        "a blue circle moving up slowly on a noisy background",          // held-out combination
    };

    /// <summary>The pipeline folder (the command line finds the embedded model wherever it runs from).</summary>
    public required string Model { get; init; }
    public string Out { get; init; } = "out/report";
    public IReadOnlyList<string> Prompts { get; init; } = DefaultPrompts;
    public int Steps { get; init; } = 20;
    public double Guidance { get; init; } = 5.0;
    public int Frames { get; init; } = 9;
    public int Height { get; init; } = 32;
    public int Width { get; init; } = 32;
    public int MaxSequenceLength { get; init; } = 16;
    /// <summary>What the report's attention explorer captures.</summary>
    public ExplorerOptions Explorer { get; init; } = ExplorerOptions.Default;
}
