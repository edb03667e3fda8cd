namespace VDiTLens.Attention;

public enum AttentionKind { Self, Cross, Joint }

/// <summary>
/// One attention call site of a model, fixed at construction. <see cref="Name"/> is the module path of the
/// attention module in the checkpoint (e.g. <c>blocks.12.attn1</c>); <see cref="ReferenceKey"/> is the key the
/// reference fixtures use for its probabilities (e.g. <c>attn.12.self</c>).
/// </summary>
public sealed record AttentionSite(string Name, int Layer, AttentionKind Kind, string ReferenceKey, string? Stream = null)
{
    public override string ToString() => Name;
}
