namespace VDiTLens.Runtime.Cuda;

/// <summary>One kernel compiled with one set of compile-time defines (<c>-DNAME=value</c>), e.g. the row length and type.</summary>
public sealed record KernelVariant(string Kernel, IReadOnlyList<KeyValuePair<string, long>> Defines)
{
    public KernelVariant(string kernel, params (string Name, long Value)[] defines)
        : this(kernel, defines.Select(d => KeyValuePair.Create(d.Name, d.Value)).ToArray())
    {
    }

    /// <summary>The variant as written in warnings and failure lists, e.g. <c>gated_residual(DIM=1536,IS_BF16=1)</c>.</summary>
    public override string ToString() => $"{Kernel}({string.Join(",", Defines.Select(d => $"{d.Key}={d.Value}"))})";

    public bool Equals(KernelVariant? other) => other is not null && ToString() == other.ToString();

    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}
