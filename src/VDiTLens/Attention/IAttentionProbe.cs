using static TorchSharp.torch;

namespace VDiTLens.Attention;

/// <summary>Reads attention calls and accumulates statistics without changing the result.</summary>
public interface IAttentionProbe
{
    bool Accepts(AttentionCall call);

    /// <summary>q, k, v as the kernel saw them (after norms and rotary); output [batch, heads, q_len, head_dim].</summary>
    void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output);
}
