using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Computes exact softmax rows block by block (never the whole N×N map) and feeds them to statistics
/// (pooled maps, received mass, entropy/coverage). The block height is chosen so one block of probabilities
/// and its temporaries stay under <see cref="MemoryBudgetBytes"/>. Logits are computed in the model's dtype
/// for float32/float64 models and from bf16/fp16 q·k products upcast to float32 otherwise.
/// </summary>
public sealed class AttentionMapProbe : IAttentionProbe
{
    private readonly List<IAttentionStatistic> _statistics;

    public ProbeFilter Filter { get; }
    public ProbeGrouping Grouping { get; }
    public long MemoryBudgetBytes { get; }
    /// <summary>Use every n-th query (1 = all, exact); larger values estimate query means from a uniform subsample.</summary>
    public int QueryStride { get; }
    public IReadOnlyList<IAttentionStatistic> Statistics => _statistics;
    /// <summary>Calls to leave to another probe (e.g. those a fused probe handles).</summary>
    public Func<AttentionCall, bool>? Skip { get; init; }

    public AttentionMapProbe(IEnumerable<IAttentionStatistic> statistics, ProbeFilter? filter = null,
        ProbeGrouping grouping = ProbeGrouping.Site, long memoryBudgetBytes = 256L << 20, int queryStride = 1)
    {
        _statistics = statistics.ToList();
        Filter = filter ?? ProbeFilter.All;
        Grouping = grouping;
        MemoryBudgetBytes = memoryBudgetBytes > 0 ? memoryBudgetBytes : throw new VDiTLensException("probe memory budget must be positive");
        QueryStride = queryStride >= 1 ? queryStride : throw new VDiTLensException("query stride must be ≥ 1");
    }

    public bool Accepts(AttentionCall call) => Filter.Accepts(call) && !(Skip?.Invoke(call) ?? false);

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
        var active = _statistics.Where(s => s.AppliesTo(call)).ToList();
        if (active.Count == 0) return;
        using var scope = torch.NewDisposeScope();
        string key = Grouping.KeyOf(call);
        var mask = call.Mask;
        if (Filter.Heads.Count > 0)
        {
            var heads = torch.tensor(Filter.Heads.ToArray(), device: q.device);
            q = q.index_select(1, heads);
            k = k.index_select(1, heads);
            if (mask is not null && mask.dim() == 4 && mask.shape[1] > 1) mask = mask.index_select(1, heads);
        }
        long batch = q.shape[0], headCount = q.shape[1], lq = q.shape[2], lk = k.shape[2];
        var probabilityType = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        long bytesPerRow = batch * headCount * lk * 4 * (probabilityType == ScalarType.Float64 ? 8 : 4);
        long rowsPerBlock = Math.Max(1, MemoryBudgetBytes / bytesPerRow);
        var kT = k.transpose(-2, -1);
        foreach (var s in active) s.BeginCall(call, key, batch, headCount);
        for (long start = 0; start < lq; start += rowsPerBlock * QueryStride)
        {
            using var block = torch.NewDisposeScope();
            long end = Math.Min(lq, start + rowsPerBlock * QueryStride);
            var rows = torch.arange(start, end, QueryStride, dtype: ScalarType.Int64, device: q.device);
            var qb = QueryStride == 1 ? q.narrow(2, start, end - start) : q.index_select(2, rows);
            var logits = torch.matmul(qb, kT).to(probabilityType) * call.Scale;
            if (mask is not null)
            {
                var m = mask.dim() == 4 && mask.shape[2] > 1 ? mask.index_select(2, rows) : mask;
                logits = m.dtype == ScalarType.Bool ? logits.masked_fill(m.logical_not(), double.NegativeInfinity) : logits + m.to(probabilityType);
            }
            var p = logits.softmax(-1).nan_to_num(0.0); // a fully masked row contributes nothing
            foreach (var s in active) s.Accumulate(call, key, rows, p);
        }
        foreach (var s in active) s.EndCall(call, key);
    }

    public IEnumerable<KeyValuePair<string, Tensor>> Results() => _statistics.SelectMany(s => s.Results());
}
