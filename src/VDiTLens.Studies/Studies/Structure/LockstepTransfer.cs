using VDiTLens.Attention;
using VDiTLens.Interventions;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// <see cref="MapTransfer"/> for prompts generated in lockstep in one batch: pairs are given as prompt indices, and
/// at every call the batch rows of each guidance branch are read from <see cref="AttentionRunState.Batch"/> (rows of
/// a branch are its prompts in order), so the same pairing works with batched guidance ([cond…, uncond…]), with
/// split guidance, and without guidance. <paramref name="branches"/> (empty = all) names the branches whose rows are
/// transferred; the scope gives sites, steps and heads (its own branch list is ignored: with batched guidance every
/// call's branch is "cfg"). <paramref name="transferText"/>: see <see cref="MapTransfer.TransferText"/>.
/// </summary>
public sealed class LockstepTransfer(int promptCount, IReadOnlyList<(int Target, int Source)> promptPairs,
    AttentionSelector? scope = null, IReadOnlyList<string>? branches = null, bool transferText = false) : IAttentionIntervention
{
    public AttentionSelector Scope { get; } = (scope ?? AttentionSelector.All) with { Branches = Array.Empty<string>() };
    public IReadOnlyList<string> Branches { get; } = branches ?? Array.Empty<string>();
    public IReadOnlyList<(int Target, int Source)> PromptPairs { get; } = promptPairs;

    public bool Accepts(AttentionCall call) => Scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        var pairs = RowPairs(call.State.Batch ?? BatchLayout.Uniform(call.Branch, (int)q.shape[0]), call);
        return pairs.Count == 0 ? next(call, q, k, v) : new MapTransfer(pairs, Scope, transferText).Invoke(call, q, k, v, next);
    }

    /// <summary>The (target row, source row) pairs of one call's batch layout.</summary>
    public IReadOnlyList<(long Target, long Source)> RowPairs(BatchLayout layout, AttentionCall? call = null)
    {
        var pairs = new List<(long, long)>();
        foreach (var branch in layout.RowBranches.Distinct())
        {
            if (Branches.Count > 0 && !Branches.Contains(branch)) continue;
            var rows = layout.RowsOf(branch);
            if (rows.Length != promptCount)
                throw new VDiTLensException($"lockstep transfer expects {promptCount} rows per branch but branch '{branch}' has {rows.Length} in batch {layout}" +
                                            (call is null ? "" : $" at site {call.Site.Name}"));
            foreach (var (t, s) in PromptPairs) pairs.Add((rows[t], rows[s]));
        }
        return pairs;
    }
}
