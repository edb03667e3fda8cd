using static TorchSharp.torch;

namespace VDiTLens.Attention;

/// <summary>
/// Everything a probe or intervention may need about one attention call: its site, the run state (step,
/// timestep, branch, batch layout, expert), the softmax scale, the additive or boolean mask, the key selections of sparse
/// interventions, and the token layouts of queries and keys. q, k and v themselves are passed alongside, shaped
/// [batch, heads, length, head_dim]. An intervention changes the attention by passing a changed call on
/// (<c>call with { Scale = …, Mask = …, Keys = … }</c>), so the kernel and every probe see the attention applied.
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

    /// <summary>Keys dropped on top of <see cref="Mask"/> by sparse interventions, applied in order (see <see cref="KeySelection"/>).</summary>
    public IReadOnlyList<KeySelection> Keys { get; init; } = Array.Empty<KeySelection>();

    /// <summary>This call with one more key selection.</summary>
    public AttentionCall WithKeys(KeySelection selection) => this with { Keys = [.. Keys, selection] };

    public int Step => State.Step;
    public string Branch => State.Branch;
    public string Expert => State.Expert;
}

/// <summary>A boolean key mask [B, 1, 1, S] that is true for exactly the first <paramref name="Count"/> keys of every row.</summary>
public sealed record PrefixKeyMask(Tensor Mask, long Count);
