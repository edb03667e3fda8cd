using VDiTLens.Attention;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// Site patterns of an edit, plus <see cref="LastSelfAttention"/>: the model's last self-attention site (for models
/// whose video tokens attend to each other in joint text-video attention, CogVideoX and Mochi-1, the last joint site),
/// the default because transferring it kept the source's trajectory with the target's attributes on the embedded
/// model (docs/structure.md, per-layer table).
/// </summary>
public static class EditSites
{
    public const string LastSelfAttention = "last-self";

    /// <summary>The patterns with <see cref="LastSelfAttention"/> replaced by that site's name.</summary>
    public static IReadOnlyList<string> Resolve(IReadOnlyList<string> patterns, IReadOnlyList<AttentionSite> sites) =>
        patterns.Select(p => p == LastSelfAttention
            ? (sites.LastOrDefault(s => s.Kind == AttentionKind.Self) ?? sites.LastOrDefault(s => s.Kind == AttentionKind.Joint))?.Name
                ?? throw new VDiTLensException($"--sites {LastSelfAttention}: the model has no self- or joint-attention site; name the sites")
            : p).ToList();
}
