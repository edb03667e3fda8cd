using static TorchSharp.torch;

namespace VDiTLens.Attention;

/// <summary>
/// Everything a probe or intervention may need about one attention call: its site, the run state (step,
/// timestep, branch), the softmax scale, the additive or boolean mask, and the token layouts of queries and keys.
/// q, k and v themselves are passed alongside, shaped [batch, heads, length, head_dim].
/// </summary>
public sealed record AttentionCall(
    AttentionSite Site,
    AttentionRunState State,
    double Scale,
    TokenLayout QueryLayout,
    TokenLayout KeyLayout,
    Tensor? Mask = null)
{
    /// <summary>
    /// Set by models whose key mask is a prefix: the same first <see cref="PrefixKeyMask.Count"/> keys valid in every
    /// batch row. The dense kernel then attends to those keys without a mask (same result, faster kernels), but only
    /// while <see cref="Mask"/> is still that mask: an intervention that replaces the mask turns it off.
    /// </summary>
    public PrefixKeyMask? PrefixKeys { get; init; }

    public int Step => State.Step;
    public string Branch => State.Branch;
}

/// <summary>A boolean key mask [B, 1, 1, S] that is true for exactly the first <paramref name="Count"/> keys of every row.</summary>
public sealed record PrefixKeyMask(Tensor Mask, long Count);
