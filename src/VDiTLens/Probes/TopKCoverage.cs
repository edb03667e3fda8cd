using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Top-k coverage on a sample of queries (every <see cref="QueryStride"/>-th): the mean number of keys holding each
/// share p ∈ <see cref="EntropyCoverage.Levels"/> of a query's mass, exact on the sampled queries. Logits of a block of
/// sampled queries are computed in float32 (float64 for float64 models) under the memory budget; on CUDA the counts come
/// from a radix-select kernel (<see cref="CoverageKernel"/>, no sort; it scales the logits and computes their
/// log-partition itself, so a block's logits are written once and read five times), elsewhere from a sort and
/// cumulative sum.
/// Results <c>&lt;site&gt;.coverage</c> and <c>&lt;site&gt;.coverage_fraction</c>, as <see cref="EntropyCoverage"/> writes them.
/// </summary>
public sealed class TopKCoverage : IAttentionProbe, IDisposable
{
    private readonly RunningMean _coverage = new(), _fraction = new();

    public TopKCoverage(AttentionSelector? filter = null, ProbeGrouping grouping = ProbeGrouping.Site, long memoryBudgetBytes = 256L << 20, int queryStride = 1)
    {
        Filter = filter ?? AttentionSelector.All;
        Grouping = grouping;
        MemoryBudgetBytes = memoryBudgetBytes > 0 ? memoryBudgetBytes : throw new VDiTLensException("probe memory budget must be positive");
        QueryStride = queryStride >= 1 ? queryStride : throw new VDiTLensException("coverage stride must be ≥ 1");
    }

    public AttentionSelector Filter { get; }
    public ProbeGrouping Grouping { get; }
    public long MemoryBudgetBytes { get; }
    public int QueryStride { get; }
    /// <summary>False: always sort (the reference path, for comparisons with the kernel).</summary>
    public bool UseKernel { get; init; } = true;

    public bool Accepts(AttentionCall call) => Filter.Accepts(call);

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
        foreach (var (group, rows) in Grouping.GroupsOf(call, Filter, q.shape[0]))
            Observe(call, group, q, k, rows, Filter.HeadSubset(call, q.shape[1]));
    }

    private void Observe(AttentionCall call, ProbeGroup key, Tensor q, Tensor k, long[]? batchRows, long[]? heads)
    {
        using var scope = torch.NewDisposeScope();
        long lq = q.shape[2], lk = k.shape[2];
        var work = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var sampledRows = torch.arange(0, lq, QueryStride, dtype: ScalarType.Int64, device: q.device);
        long rows = sampledRows.shape[0];
        Tensor? sum = null;
        if (call.Keys.Count > 0)
        {
            // Key selections: the applied logits (scaled, masked, selected), blockwise over all rows and heads of the call.
            long rowsPerBlock = Math.Max(1, MemoryBudgetBytes / (q.shape[0] * q.shape[1] * lk * (work == ScalarType.Float64 ? 8 : 4) * 3));
            for (long start = 0; start < rows; start += rowsPerBlock)
            {
                using var block = torch.NewDisposeScope();
                var logits = AppliedAttention.Logits(call, q, k, sampledRows.narrow(0, start, Math.Min(rowsPerBlock, rows - start)), batchRows, heads, work);
                var counts = Counts(logits).sum(2);
                if (sum is null) sum = counts.MoveToOuterDisposeScope();
                else sum.add_(counts);
            }
            Add(key, sum!, rows, call);
            return;
        }
        q = AppliedAttention.Narrow(q, batchRows, heads);
        k = AppliedAttention.Narrow(k, batchRows, heads);
        var mask = AppliedAttention.NarrowMask(call.Mask, batchRows, heads, QueryStride > 1 ? sampledRows : null);
        long b = q.shape[0], h = q.shape[1];
        var sampled = QueryStride == 1 ? q : q.slice(2, 0, lq, QueryStride);
        // The kernel needs only the raw logits; the sort path also holds probabilities and a sorted copy.
        var kT = k.to(work).transpose(-2, -1);
        bool kernel = UseKernel && CoverageKernel.Supports(kT);
        long bytesPerRow = b * h * lk * (work == ScalarType.Float64 ? 8 : 4) * (kernel ? 1 : 3);
        long perBlock = Math.Max(1, MemoryBudgetBytes / bytesPerRow);
        bool additive = mask is not null && mask.dtype != ScalarType.Bool;
        for (long start = 0; start < rows; start += perBlock)
        {
            using var block = torch.NewDisposeScope();
            long n = Math.Min(perBlock, rows - start);
            // Raw q·k; the softmax scale is applied by the kernel (or below), so 16-bit q and k stay exact in TF32.
            var logits = RawLogits(sampled.narrow(2, start, n), kT);
            double scale = call.Scale;
            if (mask is not null)
            {
                var m = mask.shape[2] > 1 ? mask.narrow(2, start, n) : mask;
                if (additive)
                {
                    logits = logits * scale + m.to(work);
                    scale = 1.0;
                }
                else logits = logits.masked_fill(m.logical_not(), double.NegativeInfinity);
            }
            var counts = Counts(logits, scale).sum(2);
            if (sum is null) sum = counts.MoveToOuterDisposeScope();
            else sum.add_(counts);
        }
        Add(key, sum!, rows, call);
    }

    private void Add(ProbeGroup key, Tensor sum, long rows, AttentionCall call)
    {
        var mean = sum / rows;
        _coverage.Add(key, mean);
        _fraction.Add(key, mean / call.KeyLayout.Length);
    }

    /// <summary>
    /// q·kᵀ in float32 (float64 for float64 q). For bfloat16/float16 q and k on CUDA the product runs on TF32 tensor
    /// cores: their values are exact in TF32 (10 mantissa bits), so the products are exact and accumulate in float32,
    /// as in a float32 matmul.
    /// </summary>
    private static Tensor RawLogits(Tensor queries, Tensor kT)
    {
        var q = queries.to(kT.dtype);
        if (queries.device.type != DeviceType.CUDA || !FusedKernels.IsHalf(queries.dtype)) return torch.matmul(q, kT);
        bool before = torch.backends.cuda.matmul.allow_tf32;
        try
        {
            torch.backends.cuda.matmul.allow_tf32 = true;
            return torch.matmul(q, kT);
        }
        finally
        {
            torch.backends.cuda.matmul.allow_tf32 = before;
        }
    }

    /// <summary>Coverage counts [..., levels] of the softmax of scale · logits [..., Lk] (scale &gt; 0).</summary>
    public Tensor Counts(Tensor logits, double scale = 1.0)
    {
        if (UseKernel && CoverageKernel.Supports(logits) && CoverageKernel.Counts(logits, scale, EntropyCoverage.Levels) is { } counts) return counts;
        var scaled = scale == 1.0 ? logits : logits * scale;
        var lse = scaled.logsumexp(-1);
        var p = (scaled - lse.unsqueeze(-1)).exp().nan_to_num(0.0); // a fully masked row contributes nothing
        var cumulative = p.sort(-1, descending: true).Values.cumsum(-1);
        return torch.stack(EntropyCoverage.Levels.Select(level => (cumulative < level).sum(-1) + 1).ToArray(), -1)
            .clamp_max(logits.shape[^1]).to(logits.dtype);
    }

    public ProbeResults Results() => new(_coverage.Means("coverage").Concat(_fraction.Means("coverage_fraction")).ToList());

    public void Dispose()
    {
        _coverage.Dispose();
        _fraction.Dispose();
    }
}
