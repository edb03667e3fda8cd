using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// The other reading of the paper's "mask the bottom k % of attention weights": one threshold per head over the whole
/// map instead of per query row. Per (batch row, head) with N unmasked query-key pairs, the floor(s·N) smallest dense
/// probabilities are dropped (values tied with the last dropped one go too), so peaked rows lose many
/// keys and flat rows few; each row's largest probability is always kept, so no row loses every key. Holds one
/// call's whole probability map (at most <see cref="MaxPairs"/> query-key pairs per call) to find the threshold.
/// </summary>
public sealed class BottomKPerHeadSparsifier(double sparsity, IReadOnlyList<long>? keepSinks = null) : Sparsifier(keepSinks)
{
    public const long MaxPairs = 1L << 25;

    public override string Name => "bottom_k_head";
    public double Sparsity { get; } = CheckSparsity(sparsity);

    public override KeepMask Begin(SparsityInputs inputs)
    {
        var threshold = Thresholds(inputs, Sparsity).DetachFromDisposeScope();
        return block =>
        {
            var p = block.Probabilities;
            var rowMax = p.amax(new long[] { -1 }, keepdim: true);
            return p.gt(threshold.unsqueeze(-1).unsqueeze(-1)).logical_or(p.eq(rowMax)).logical_or(block.Valid.logical_not());
        };
    }

    /// <summary>Per (batch row, head): midway between the floor(s·N)-th and the next smallest valid probability, or −1 when nothing is dropped. [B, H].</summary>
    public static Tensor Thresholds(SparsityInputs inputs, double sparsity)
    {
        using var scope = torch.NewDisposeScope();
        var (q, k) = (inputs.Q, inputs.K);
        long b = q.shape[0], h = q.shape[1], lq = q.shape[2], lk = k.shape[2];
        if (b * h * lq * lk > MaxPairs)
            throw new VDiTLensException($"bottom_k_head at site {inputs.Call.Site.Name}: {b}×{h}×{lq}×{lk} query-key pairs exceed the {MaxPairs} this sparsifier can rank at once; use bottom_k (per row) or fewer heads/tokens");
        var rows = torch.arange(lq, dtype: ScalarType.Int64, device: q.device);
        var logits = MaskedLogits.Compute(q, k, inputs.Call.Scale, inputs.Mask, rows);
        var valid = logits.isfinite();
        var p = logits.softmax(-1).nan_to_num(0.0).masked_fill(valid.logical_not(), 2.0).reshape(b, h, -1); // masked pairs sort last
        var n = valid.reshape(b, h, -1).sum(-1, type: ScalarType.Int64);
        var drop = (n.to(ScalarType.Float64) * sparsity).floor().to(ScalarType.Int64);
        var sorted = p.sort(-1).Values;
        // Midway between the last dropped and the first kept value, so the blocks' own softmax (rounded differently) splits the same way.
        var last = sorted.gather(-1, (drop - 1).clamp_min(0).unsqueeze(-1)).squeeze(-1);
        var next = sorted.gather(-1, drop.clamp_max(sorted.shape[^1] - 1).unsqueeze(-1)).squeeze(-1);
        return torch.where(drop.gt(0), (last + next) / 2, torch.full_like(last, -1.0)).MoveToOuterDisposeScope();
    }
}
