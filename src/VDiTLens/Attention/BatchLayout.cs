namespace VDiTLens.Attention;

/// <summary>
/// Which guidance branch each batch row of the current forward belongs to. A pipeline that batches the
/// conditional and unconditional passes into one call (branch "cfg") lays rows out as [cond..., uncond...];
/// probes that want one branch select its rows with <see cref="RowsOf"/>.
/// </summary>
public sealed record BatchLayout(IReadOnlyList<string> RowBranches)
{
    public int Rows => RowBranches.Count;

    /// <summary>Every row in one branch.</summary>
    public static BatchLayout Uniform(string branch, int rows) => new(Enumerable.Repeat(branch, rows).ToArray());

    /// <summary>Classifier-free guidance batched in one call: <paramref name="prompts"/> cond rows, then as many uncond rows.</summary>
    public static BatchLayout Guided(int prompts) =>
        new(Enumerable.Repeat("cond", prompts).Concat(Enumerable.Repeat("uncond", prompts)).ToArray());

    /// <summary>Indices of the rows of <paramref name="branch"/>, in order.</summary>
    public long[] RowsOf(string branch) =>
        Enumerable.Range(0, RowBranches.Count).Where(i => RowBranches[i] == branch).Select(i => (long)i).ToArray();

    public override string ToString() => $"[{string.Join(", ", RowBranches)}]";
}
