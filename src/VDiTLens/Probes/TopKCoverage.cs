using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Top-k coverage on a sample of queries (every <see cref="QueryStride"/>-th): the mean number of keys holding each
/// share p ∈ <see cref="EntropyCoverage.Levels"/> of a query's mass, exact on the sampled queries. Logits of a block of
/// sampled queries are computed in float32 (float64 for float64 models) under the memory budget; on CUDA the counts come
/// from a radix-select kernel (<see cref="CoverageKernel"/>, no sort), elsewhere from a sort and cumulative sum.
/// Results <c>&lt;site&gt;.coverage</c> and <c>&lt;site&gt;.coverage_fraction</c>, as <see cref="EntropyCoverage"/> writes them.
/// </summary>
public sealed class TopKCoverage : IAttentionProbe
{
    private readonly RunningMean _coverage = new(), _fraction = new();

    public TopKCoverage(ProbeFilter? filter = null, ProbeGrouping grouping = ProbeGrouping.Site, long memoryBudgetBytes = 256L << 20, int queryStride = 1)
    {
        Filter = filter ?? ProbeFilter.All;
        Grouping = grouping;
        MemoryBudgetBytes = memoryBudgetBytes > 0 ? memoryBudgetBytes : throw new VDiTLensException("probe memory budget must be positive");
        QueryStride = queryStride >= 1 ? queryStride : throw new VDiTLensException("coverage stride must be ≥ 1");
    }

    public ProbeFilter Filter { get; }
    public ProbeGrouping Grouping { get; }
    public long MemoryBudgetBytes { get; }
    public int QueryStride { get; }
    /// <summary>Calls to leave to another probe.</summary>
    public Func<AttentionCall, bool>? Skip { get; init; }
    /// <summary>False: always sort (the reference path, for comparisons with the kernel).</summary>
    public bool UseKernel { get; init; } = true;

    public bool Accepts(AttentionCall call) => Filter.Accepts(call) && !(Skip?.Invoke(call) ?? false);

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
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
        long b = q.shape[0], h = q.shape[1], lq = q.shape[2], lk = k.shape[2];
        var work = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var sampled = QueryStride == 1 ? q : q.slice(2, 0, lq, QueryStride);
        if (mask is not null && mask.dim() == 4 && mask.shape[2] > 1 && QueryStride > 1) mask = mask.slice(2, 0, lq, QueryStride);
        long rows = sampled.shape[2];
        long bytesPerRow = b * h * lk * (work == ScalarType.Float64 ? 8 : 4) * 3; // logits, probabilities, sorted copy
        long rowsPerBlock = Math.Max(1, MemoryBudgetBytes / bytesPerRow);
        var kT = k.to(work).transpose(-2, -1);
        Tensor? sum = null;
        for (long start = 0; start < rows; start += rowsPerBlock)
        {
            using var block = torch.NewDisposeScope();
            long n = Math.Min(rowsPerBlock, rows - start);
            var logits = torch.matmul(sampled.narrow(2, start, n).to(work), kT) * call.Scale;
            if (mask is not null)
            {
                var m = mask.dim() == 4 && mask.shape[2] > 1 ? mask.narrow(2, start, n) : mask;
                logits = m.dtype == ScalarType.Bool ? logits.masked_fill(m.logical_not(), double.NegativeInfinity) : logits + m.to(work);
            }
            var counts = Counts(logits).sum(2);
            if (sum is null) sum = counts.MoveToOuterDisposeScope();
            else sum.add_(counts);
        }
        var mean = sum! / rows;
        _coverage.Add(key, mean);
        _fraction.Add(key, mean / call.KeyLayout.Length);
    }

    /// <summary>Coverage counts [..., levels] of logit rows [..., Lk].</summary>
    public Tensor Counts(Tensor logits)
    {
        var lse = logits.logsumexp(-1);
        if (UseKernel && CoverageKernel.Supports(logits) && CoverageKernel.TryCounts(logits, lse, EntropyCoverage.Levels) is { } counts) return counts;
        var p = (logits - lse.unsqueeze(-1)).exp().nan_to_num(0.0); // a fully masked row contributes nothing
        var cumulative = p.sort(-1, descending: true).Values.cumsum(-1);
        return torch.stack(EntropyCoverage.Levels.Select(level => (cumulative < level).sum(-1) + 1).ToArray(), -1)
            .clamp_max(logits.shape[^1]).to(logits.dtype);
    }

    public IEnumerable<KeyValuePair<string, Tensor>> Results() => _coverage.Means("coverage").Concat(_fraction.Means("coverage_fraction"));
}
