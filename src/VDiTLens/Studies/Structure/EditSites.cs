using VDiTLens.Attention;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// Site patterns of an edit, plus <see cref="LastSelfAttention"/>: the model's last self-attention site, the default
/// because transferring it kept the source's trajectory with the target's attributes on the embedded model
/// (docs/structure.md, per-layer table).
/// </summary>
public static class EditSites
{
    public const string LastSelfAttention = "last-self";

    /// <summary>The patterns with <see cref="LastSelfAttention"/> replaced by that site's name.</summary>
    public static IReadOnlyList<string> Resolve(IReadOnlyList<string> patterns, IReadOnlyList<AttentionSite> sites) =>
        patterns.Select(p => p == LastSelfAttention
            ? sites.LastOrDefault(s => s.Kind == AttentionKind.Self)?.Name
                ?? throw new VDiTLensException($"--sites {LastSelfAttention}: the model has no self-attention site; name the sites")
            : p).ToList();
}
