using VDiTLens.Models.Common;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// Site patterns of an edit, plus <see cref="LastSelfAttention"/>: the last block's attention among the video tokens
/// (<see cref="BlockAttention"/>: Wan's last self-attention; the last joint text-video attention of CogVideoX, Mochi-1
/// and HunyuanVideo),
/// the default because transferring it kept the source's trajectory with the target's attributes on the embedded
/// model (docs/structure.md, per-layer table).
/// </summary>
public static class EditSites
{
    public const string LastSelfAttention = "last-self";

    /// <summary>The patterns with <see cref="LastSelfAttention"/> replaced by that site's name.</summary>
    public static IReadOnlyList<string> Resolve(IReadOnlyList<string> patterns, IVideoTransformer model) =>
        patterns.Select(p => p == LastSelfAttention
            ? BlockAttention.All(model).Select(b => b.Site.Name).LastOrDefault()
                ?? throw new VDiTLensException($"Sites {LastSelfAttention}: the model has no self- or joint-attention site in its blocks; name the sites")
            : p).ToList();
}
