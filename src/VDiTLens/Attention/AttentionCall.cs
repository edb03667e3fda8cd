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
    public int Step => State.Step;
    public string Branch => State.Branch;
}
