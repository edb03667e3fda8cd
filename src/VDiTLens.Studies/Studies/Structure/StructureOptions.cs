using System.Text.Json.Serialization;
using VDiTLens.Probes;
using VDiTLens.Attention;
using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>What the structure study generates and probes. Defaults suit the embedded 9 × 32 × 32 tiny model.</summary>
public sealed record StructureOptions : FirstFrameOptions
{
    /// <summary>Four procedural captions differing in colour, shape and direction.</summary>
    public static readonly string[] DefaultPrompts =
    {
        "a red circle moving right slowly on a plain background",
        "a blue square moving left slowly on a plain background",
        "a green triangle moving down slowly on a plain background",
        "a yellow cross moving up slowly on a plain background",
    };

    public IReadOnlyList<string> Prompts { get; init; } = DefaultPrompts;
    public IReadOnlyList<long> Seeds { get; init; } = new long[] { 0, 1 };
    public int Steps { get; init; } = 20;
    public double Guidance { get; init; } = 5.0;
    public string NegativePrompt { get; init; } = "";
    public int Frames { get; init; } = 9;
    public int Height { get; init; } = 32;
    public int Width { get; init; } = 32;
    public int MaxSequenceLength { get; init; } = 16;
    /// <summary>Guidance branch whose maps are compared ("cond" or "uncond"); the branches run as separate calls.</summary>
    public string Branch { get; init; } = "cond";
    /// <summary>Also probe (frame, tile) × (frame, tile) maps.</summary>
    public bool Tiles { get; init; }
    public int TileSize { get; init; } = 4;
    /// <summary>Sites probed (AttentionSelector patterns); default every self-attention (Wan) or joint text-video attention (CogVideoX, Mochi) site.</summary>
    public IReadOnlyList<string> Sites { get; init; } = new[] { "self", "joint" };
    public long MemoryBudgetBytes { get; init; } = 256L << 20;

    /// <summary>Map kinds probed: frame_map, and tile_map with <see cref="Tiles"/>.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> Kinds => Tiles ? new[] { "frame_map", "tile_map" } : new[] { "frame_map" };

    [JsonIgnore]
    public ProbeOptions ProbeOptions => new()
    {
        Probes = Tiles ? new[] { "frame", "tile" } : new[] { "frame" },
        Filter = new AttentionSelector { Sites = Sites, Branches = new[] { Branch } },
        Grouping = ProbeGrouping.Step | ProbeGrouping.Run,
        TileSize = TileSize,
        MemoryBudgetBytes = MemoryBudgetBytes,
    };

    /// <summary>Everything but the seed that determines one seed's maps, so a resumed run can tell whether saved maps still apply.</summary>
    public string Fingerprint(string model) => string.Join("|",
        model, string.Join(";", Prompts), Steps, Guidance, NegativePrompt, Frames, Height, Width, MaxSequenceLength, Branch,
        Tiles, TileSize, string.Join(";", Sites), "shared-noise") + (ImageHash is { } image ? "|image=" + image : "");

    public void Validate()
    {
        if (Prompts.Count < 1) throw new VDiTLensException("structure study: give at least one prompt (--prompt)");
        if (Seeds.Count < 1) throw new VDiTLensException("structure study: give at least one seed (--seeds)");
        if (Seeds.Distinct().Count() != Seeds.Count) throw new VDiTLensException("structure study: --seeds repeats a seed");
        if (Steps < 1) throw new VDiTLensException($"structure study: --steps {Steps}; at least 1 is needed");
        if (Branch is not ("cond" or "uncond")) throw new VDiTLensException($"structure study: --branch {Branch}; use cond or uncond");
        if (Branch == "uncond" && !(Guidance > 1)) throw new VDiTLensException("structure study: --branch uncond needs --guidance above 1 (no unconditional pass otherwise)");
    }
}
