using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Why a layer that looks sparse may not be sparsifiable, per (batch row, head), mean over query rows. Results:
/// <list type="bullet">
/// <item><c>&lt;group&gt;.dropped_mass</c> [B, H, sparsity levels]: the dense attention mass per-row bottom-k at each
/// level of <see cref="SparsityLevels"/> removes (the floor(s·n) smallest probabilities of a row of n valid keys).</item>
/// <item><c>&lt;group&gt;.coverage_without_sinks</c> [B, H, coverage levels]: top-k coverage fraction (keys ÷ remaining valid keys)
/// after removing the head's <see cref="SinkKeys"/> keys of largest received mass in this call and renormalising.</item>
/// <item><c>&lt;group&gt;.norm_weighted_coverage</c> [B, H, coverage levels]: coverage of p_ij·‖v_j‖ renormalised per row
/// (Kobayashi et al., EMNLP 2020): a key with much attention but a small value contributes little.</item>
/// </list>
/// Coverage levels are <see cref="EntropyCoverage.Levels"/>. Two passes over blocks of query rows (received mass, then the rest).
/// </summary>
public sealed class SparsityDiagnostics(AttentionSelector? filter = null, ProbeGrouping grouping = ProbeGrouping.Site, int sinkKeys = 1,
    long memoryBudgetBytes = 64L << 20) : IAttentionProbe, IDisposable
{
    public static readonly double[] SparsityLevels = { 0.1, 0.3, 0.5, 0.7, 0.9 };

    private readonly RunningMean _dropped = new(), _withoutSinks = new(), _normWeighted = new();

    public AttentionSelector Filter { get; } = filter ?? AttentionSelector.All;
    public int SinkKeys { get; } = sinkKeys >= 1 ? sinkKeys : throw new VDiTLensException($"sparsity diagnostics: sinkKeys must be at least 1 (got {sinkKeys})");

    public bool Accepts(AttentionCall call) => Filter.Accepts(call);

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
        if (call.Keys.Count > 0)
            throw new VDiTLensException($"sparsity diagnostics at site {call.Site.Name}: they describe dense attention, but a sparse intervention selects keys in this call; attach them to a run without sparsifiers at this site");
        foreach (var (group, rows) in grouping.GroupsOf(call, Filter, q.shape[0]))
        {
            if (rows is { Length: 0 }) continue;
            using var scope = torch.NewDisposeScope();
            Tensor Rows(Tensor t) => rows is null || t.shape[0] == 1 ? t : t.index_select(0, torch.tensor(rows, device: t.device));
            ObserveRows(group, call, Rows(q), Rows(k), Rows(v), call.Mask is { } m ? Rows(m) : null);
        }
    }

    private void ObserveRows(ProbeGroup key, AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor? callMask)
    {
        var work = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        long b = q.shape[0], h = q.shape[1], lq = q.shape[2], lk = k.shape[2];
        var kT = k.to(work).transpose(-2, -1);
        var vNorm = v.to(work).norm(-1).unsqueeze(2); // [B, H, 1, Lk]
        long rowsPerBlock = Math.Max(1, memoryBudgetBytes / (b * h * lk * 8 * 6));
        Tensor Probabilities(long start, long length, out Tensor valid)
        {
            var logits = torch.matmul(q.narrow(2, start, length).to(work), kT) * call.Scale;
            if (callMask is { } mask)
            {
                var m = mask.dim() == 4 && mask.shape[2] > 1 ? mask.narrow(2, start, length) : mask;
                logits = m.dtype == ScalarType.Bool ? logits.masked_fill(m.logical_not(), double.NegativeInfinity) : logits + m.to(work);
            }
            valid = logits.isfinite();
            return logits.softmax(-1).nan_to_num(0.0);
        }

        var received = torch.zeros(new[] { b, h, lk }, dtype: ScalarType.Float64, device: q.device);
        for (long start = 0; start < lq; start += rowsPerBlock)
        {
            using var block = torch.NewDisposeScope();
            received.add_(Probabilities(start, Math.Min(rowsPerBlock, lq - start), out _).sum(2).to(ScalarType.Float64));
        }
        var top = received.topk(Math.Min(SinkKeys, (int)lk), -1).indexes;
        var sinks = torch.zeros(new[] { b, h, lk }, dtype: ScalarType.Float64, device: q.device)
            .scatter_(-1, top, torch.ones(top.shape, dtype: ScalarType.Float64, device: q.device)).to(ScalarType.Bool).unsqueeze(2); // [B, H, 1, Lk]

        var levels = torch.tensor(SparsityLevels, dtype: ScalarType.Float64, device: q.device);
        Tensor? dropped = null, withoutSinks = null, weighted = null;
        for (long start = 0; start < lq; start += rowsPerBlock)
        {
            using var block = torch.NewDisposeScope();
            long length = Math.Min(rowsPerBlock, lq - start);
            var p = Probabilities(start, length, out var valid).to(ScalarType.Float64);
            var n = valid.sum(-1, keepdim: true, type: ScalarType.Int64); // [B, H, rows, 1]
            // Dropped mass: ascending cumulative sum of valid probabilities, read at floor(s·n) for each level.
            var ascending = p.masked_fill(valid.logical_not(), 2.0).sort(-1).Values.clamp_max(1.0).cumsum(-1);
            var count = (n.to(ScalarType.Float64) * levels).floor().to(ScalarType.Int64); // [B, H, rows, S]
            var at = ascending.gather(-1, (count - 1).clamp_min(0));
            var d = torch.where(count.gt(0), at, torch.zeros_like(at)).sum(2);
            Accumulate(ref dropped, d);

            var kept = p.masked_fill(sinks, 0.0);
            var keptValid = valid.logical_and(sinks.logical_not());
            Accumulate(ref withoutSinks, Coverage(kept, keptValid));
            Accumulate(ref weighted, Coverage(p * vNorm.to(ScalarType.Float64), valid));
        }
        _dropped.Add(key, dropped! / lq);
        _withoutSinks.Add(key, withoutSinks! / lq);
        _normWeighted.Add(key, weighted! / lq);
    }

    /// <summary>Sum over rows of the coverage fraction of each row's renormalised weights at each level: [B, H, levels].</summary>
    private static Tensor Coverage(Tensor weights, Tensor valid)
    {
        var total = weights.sum(-1, keepdim: true);
        var share = (weights / total.clamp_min(1e-300)).sort(-1, descending: true).Values.cumsum(-1);
        var n = valid.sum(-1, type: ScalarType.Float64).clamp_min(1); // [B, H, rows]
        var fractions = EntropyCoverage.Levels.Select(level =>
            ((share < level - 1e-12).sum(-1).to(ScalarType.Float64) + 1).minimum(n) / n).ToArray();
        return torch.stack(fractions, -1).sum(2);
    }

    private static void Accumulate(ref Tensor? sum, Tensor value)
    {
        if (sum is null) sum = value.MoveToOuterDisposeScope();
        else sum.add_(value);
    }

    public IEnumerable<ProbeResult> Results() =>
        _dropped.Means("dropped_mass").Concat(_withoutSinks.Means("coverage_without_sinks")).Concat(_normWeighted.Means("norm_weighted_coverage"));

    public void Dispose()
    {
        _dropped.Dispose();
        _withoutSinks.Dispose();
        _normWeighted.Dispose();
    }
}
