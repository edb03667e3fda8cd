using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Computes exact softmax rows of the attention each call applied (scale, mask and key selections of sparse
/// interventions included) block by block, never the whole N×N map, and feeds them to statistics (pooled maps,
/// received mass, entropy/coverage). The block height is chosen so one block of probabilities and its temporaries
/// stay under <see cref="MemoryBudgetBytes"/>. Logits are computed in the model's dtype for float32/float64 models and
/// from bf16/fp16 q·k products upcast to float32 otherwise.
/// </summary>
public sealed class AttentionMapProbe : IAttentionProbe, IDisposable
{
    private readonly List<IAttentionStatistic> _statistics;

    public AttentionSelector Filter { get; }
    public ProbeGrouping Grouping { get; }
    public long MemoryBudgetBytes { get; }
    /// <summary>Use every n-th query (1 = all, exact); larger values estimate query means from a uniform subsample.</summary>
    public int QueryStride { get; }
    public IReadOnlyList<IAttentionStatistic> Statistics => _statistics;

    public AttentionMapProbe(IEnumerable<IAttentionStatistic> statistics, AttentionSelector? filter = null,
        ProbeGrouping grouping = ProbeGrouping.Site, long memoryBudgetBytes = 256L << 20, int queryStride = 1)
    {
        _statistics = statistics.ToList();
        Filter = filter ?? AttentionSelector.All;
        Grouping = grouping;
        MemoryBudgetBytes = memoryBudgetBytes > 0 ? memoryBudgetBytes : throw new VDiTLensException("probe memory budget must be positive");
        QueryStride = queryStride >= 1 ? queryStride : throw new VDiTLensException("query stride must be ≥ 1");
    }

    public bool Accepts(AttentionCall call) => Filter.Accepts(call);

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
        var active = _statistics.Where(s => s.AppliesTo(call)).ToList();
        if (active.Count == 0) return;
        foreach (var (group, rows) in Grouping.GroupsOf(call, Filter, q.shape[0]))
            Observe(call, group, q, k, rows, Filter.HeadSubset(call, q.shape[1]), active);
    }

    private void Observe(AttentionCall call, ProbeGroup key, Tensor q, Tensor k, long[]? batchRows, long[]? heads, List<IAttentionStatistic> active)
    {
        using var scope = torch.NewDisposeScope();
        long batch = batchRows?.Length ?? q.shape[0], headCount = heads?.Length ?? q.shape[1], lq = q.shape[2], lk = k.shape[2];
        var probabilityType = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        // with key selections the logits of every row and head are computed before the selected ones are taken
        long computed = call.Keys.Count == 0 ? batch * headCount : q.shape[0] * q.shape[1];
        long bytesPerRow = computed * lk * 4 * (probabilityType == ScalarType.Float64 ? 8 : 4);
        long rowsPerBlock = Math.Max(1, MemoryBudgetBytes / bytesPerRow);
        foreach (var s in active) s.BeginCall(call, key, batch, headCount);
        for (long start = 0; start < lq; start += rowsPerBlock * QueryStride)
        {
            using var block = torch.NewDisposeScope();
            long end = Math.Min(lq, start + rowsPerBlock * QueryStride);
            var rows = torch.arange(start, end, QueryStride, dtype: ScalarType.Int64, device: q.device);
            var logits = AppliedAttention.Logits(call, q, k, rows, batchRows, heads, probabilityType);
            var p = logits.softmax(-1).nan_to_num(0.0); // a fully masked row contributes nothing
            foreach (var s in active) s.Accumulate(call, key, rows, p);
        }
        foreach (var s in active) s.EndCall(call, key);
    }

    public ProbeResults Results() => new(_statistics.SelectMany(s => s.Results()).ToList());

    public void Dispose()
    {
        foreach (var s in _statistics) s.Dispose();
    }
}
