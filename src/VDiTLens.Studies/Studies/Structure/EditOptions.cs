using VDiTLens.Interventions;
using VDiTLens.Attention;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// The noise the target rows start from: the source's (<see cref="Same"/>), or another draw (<see cref="Independent"/>:
/// the seed <see cref="EditOptions.TargetSeed"/>), so that whatever the edited video shares with the source beyond what the
/// plain target shares comes through the transferred maps, not through the noise.
/// </summary>
public enum TargetNoise { Same, Independent }

/// <summary>
/// An attention-map edit: source and target prompts in one batch (from the same noise unless <see cref="TargetNoise"/>), the target's attention among the
/// video tokens using the source's q and k (its own v) at the chosen sites, heads, steps and branches; at joint
/// text-video sites the text tokens keep their own q and k unless <see cref="TransferText"/>. Defaults: see docs/structure.md.
/// </summary>
public sealed record EditOptions
{
    public required string SourcePrompt { get; init; }
    public required string TargetPrompt { get; init; }
    public long Seed { get; init; }
    public TargetNoise TargetNoise { get; init; } = TargetNoise.Same;
    public int Steps { get; init; } = 20;
    public double Guidance { get; init; } = 5.0;
    public string NegativePrompt { get; init; } = "";
    public int Frames { get; init; } = 9;
    public int Height { get; init; } = 32;
    public int Width { get; init; } = 32;
    public int MaxSequenceLength { get; init; } = 16;
    /// <summary>The first frame of image-to-video folders (<see cref="VDiTLens.Pipelines.GenerationRequest.Image"/>), the same for source and target.</summary>
    [JsonIgnore]
    public Tensor? Image { get; init; }
    /// <summary>Sites whose maps are transferred (AttentionSelector patterns, or <see cref="EditSites.LastSelfAttention"/>).</summary>
    public IReadOnlyList<string> Sites { get; init; } = new[] { EditSites.LastSelfAttention };
    public IReadOnlyList<long> Heads { get; init; } = Array.Empty<long>();
    public int? MinStep { get; init; }
    public int? MaxStep { get; init; }
    /// <summary>Guidance branches transferred (empty = cond and uncond).</summary>
    public IReadOnlyList<string> Branches { get; init; } = Array.Empty<string>();
    /// <summary>At joint text-video sites, also transfer the text tokens' q and k (see <see cref="MapTransfer.TransferText"/>).</summary>
    public bool TransferText { get; init; }
    /// <summary>Cond and uncond in one transformer call (rows [src, tgt, edit, src, tgt, edit]) or in two.</summary>
    public bool BatchGuidance { get; init; } = true;

    /// <summary>XORed into the seed for independent target noise (any constant other than 0 would do; fixed so runs repeat).</summary>
    public const long IndependentSalt = 0x7A26E7_5EED;

    /// <summary>Seed of the target rows' noise: <see cref="Seed"/>, or with <see cref="TargetNoise.Independent"/> the seed XOR <see cref="IndependentSalt"/>.</summary>
    public long TargetSeed => TargetNoise == TargetNoise.Same ? Seed : Seed ^ IndependentSalt;

    public AttentionSelector Scope => new() { Sites = Sites, Heads = Heads, Steps = IndexSet.Between(MinStep, MaxStep) };

    /// <summary>"blocks.2.attn1 · heads all · steps 0..9 · branches all".</summary>
    public string Describe() =>
        $"sites {string.Join(",", Sites)} · heads {(Heads.Count == 0 ? "all" : string.Join(",", Heads))} · " +
        $"steps {MinStep?.ToString() ?? "0"}..{MaxStep?.ToString() ?? "end"} · branches {(Branches.Count == 0 ? "all" : string.Join(",", Branches))}" +
        (TransferText ? " · text tokens too" : "");
}
