namespace VDiTLens.Attention;

/// <summary>
/// A data-dependent choice of keys that an intervention applies on top of the call's mask (sparse attention). For
/// the batch rows <see cref="Rows"/> and heads <see cref="Heads"/> of the call (null = all) and any block of query
/// rows, <see cref="Keep"/> maps the block's logits in that sub-space (scaled, masked, and with the call's earlier
/// selections already applied) to a keep-mask; dropped keys get -inf and the softmax renormalises over the kept
/// ones. The rest of the call is untouched. The seam's terminal step computes the output with it, and probes read
/// the same selection, so what they measure is the attention that was applied.
/// </summary>
public sealed record KeySelection(string Name, KeepMask Keep, long[]? Rows = null, long[]? Heads = null)
{
    /// <summary>
    /// A faster kernel for exactly this selection (e.g. gathered key blocks), used when it is the call's only selection
    /// and the call has no mask; otherwise the exact blockwise kernel runs.
    /// </summary>
    public AttentionNext? Kernel { get; init; }

    /// <summary>Told the kept and the total unmasked query-key pairs whenever the blockwise kernel applies the selection.</summary>
    public Action<AttentionCall, double, double>? Applied { get; init; }

    /// <summary>Bytes of logits and temporaries one block of query rows may take in the blockwise kernel.</summary>
    public long MemoryBudgetBytes { get; init; } = 256L << 20;

    public bool Covers(long[]? rows, long[]? heads) => Same(Rows, rows) && Same(Heads, heads);

    private static bool Same(long[]? a, long[]? b) => a is null ? b is null : b is not null && a.SequenceEqual(b);
}
