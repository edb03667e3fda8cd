using VDiTLens.Interventions;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using VDiTLens.Procedural;
using VDiTLens.Attention;

namespace VDiTLens.Studies.Sinks;

/// <summary>Everything the sink study varies and measures.</summary>
public sealed record SinkStudyOptions
{
    /// <summary>Generation settings (steps, size, guidance…); its prompts and seed are replaced per run.</summary>
    public required GenerationRequest Template { get; init; }
    public required IReadOnlyList<string> Prompts { get; init; }
    /// <summary>The intended attributes of each prompt (null where unknown), for the evaluator's accuracy.</summary>
    public IReadOnlyList<ClipSpec?> Specs { get; init; } = Array.Empty<ClipSpec?>();
    public required IReadOnlyList<long> Seeds { get; init; }
    /// <summary>Which sites and steps are measured (branch is always cond).</summary>
    public AttentionSelector Sites { get; init; } = AttentionSelector.All;
    public SinkCriteria Criteria { get; init; } = new();
    public IReadOnlyList<SinkAblationMode> AblationModes { get; init; } = new[] { SinkAblationMode.Mask, SinkAblationMode.ZeroValues };
    /// <summary>Temperatures of the sweep (1 is the baseline and always included).</summary>
    public IReadOnlyList<double> Taus { get; init; } = Array.Empty<double>();
    public AttentionSelector TauScope { get; init; } = new() { Sites = new[] { "self", "joint" } };
    /// <summary>Optional "bottom_k:0.5"-style sparsification added to every temperature point (and alone at τ = 1).</summary>
    public string? Sparsify { get; init; }
    public AttentionSelector SparsifyScope { get; init; } = new() { Sites = new[] { "self", "joint" } };
    /// <summary>Step at which keys/values and the residual stream are captured (null: the middle step).</summary>
    public int? CharacteriseStep { get; init; }
    public long MemoryBudgetBytes { get; init; } = 256L << 20;
    public long ControlSeed { get; init; } = 1234;

    public ClipSpec? SpecOf(int prompt) => prompt < Specs.Count ? Specs[prompt] : null;
}
