using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// Attention with keys dropped by a sparsifier, computed block by block over queries so no N×N map is held:
/// logits → keep-mask (dropped keys -inf) → softmax over the kept keys → p·v. Blocks are sized so one block's
/// logits and temporaries stay under <see cref="MemoryBudgetBytes"/>. Computed in float64 for float64 models,
/// float32 otherwise. With a head subset, the other heads come from the rest of the chain unchanged (it runs
/// densely on all heads, and the scoped heads' output is replaced).
/// </summary>
public sealed class SparseAttention : ISparseIntervention
{
    /// <summary>Bytes held per query-key pair of a block: logits, probabilities, masked logits, keep/valid masks, and a sparsifier's sort values, indices and ranks.</summary>
    private static long BytesPerPair(ScalarType dtype) => dtype == ScalarType.Float64 ? 56 : 40;

    public ISparsifier Sparsifier { get; }
    public InterventionScope Scope { get; }
    public long MemoryBudgetBytes { get; }
    public DensityMeter Density => Sparsifier.Density;

    public SparseAttention(ISparsifier sparsifier, InterventionScope? scope = null, long memoryBudgetBytes = 256L << 20)
    {
        Sparsifier = sparsifier;
        Scope = scope ?? InterventionScope.All;
        MemoryBudgetBytes = memoryBudgetBytes > 0 ? memoryBudgetBytes : throw new VDiTLensException("sparse attention memory budget must be positive");
    }

    public bool Accepts(AttentionCall call) => Scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        using var scope = torch.NewDisposeScope();
        long batch = q.shape[0], headCount = q.shape[1], lq = q.shape[2], lk = k.shape[2];
        var heads = Scope.HeadIndices(call, headCount);
        bool partial = heads.Length < headCount;
        var headIndex = torch.tensor(heads, device: q.device);
        var dtype = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        Tensor Pick(Tensor t) => (partial ? t.index_select(1, headIndex) : t).to(dtype);
        var (qs, ks, vs) = (Pick(q), Pick(k), Pick(v));
        var mask = MaskedLogits.SelectHeads(call.Mask, headIndex);

        var keepMask = Sparsifier.Begin(new SparsityInputs(call, qs, ks, vs, mask, heads));
        var sinks = SinkKeys(call, lk, q.device);
        var output = torch.empty(new[] { batch, heads.Length, lq, v.shape[3] }, dtype: dtype, device: q.device);
        var kept = torch.zeros(1, dtype: ScalarType.Float64, device: q.device);
        var total = torch.zeros(1, dtype: ScalarType.Float64, device: q.device);
        long bytesPerRow = batch * heads.Length * lk * BytesPerPair(dtype);
        long rowsPerBlock = Math.Max(1, MemoryBudgetBytes / bytesPerRow);

        for (long start = 0; start < lq; start += rowsPerBlock)
        {
            using var blockScope = torch.NewDisposeScope();
            long length = Math.Min(rowsPerBlock, lq - start);
            var rows = torch.arange(start, start + length, dtype: ScalarType.Int64, device: q.device);
            var block = new QueryBlock(start, length, MaskedLogits.Compute(qs.narrow(2, start, length), ks, call.Scale, mask, rows));
            var keep = keepMask(block);
            if (sinks is not null) keep = keep.logical_or(sinks);
            var valid = block.Valid;
            kept.add_(keep.logical_and(valid).sum().to(ScalarType.Float64));
            total.add_(valid.sum().to(ScalarType.Float64));
            var p = block.Logits.masked_fill(keep.logical_not(), double.NegativeInfinity).softmax(-1).nan_to_num(0.0);
            output.narrow(2, start, length).copy_(torch.matmul(p, vs));
        }
        Sparsifier.Density.Add(call.Site.Name, kept.item<double>(), total.item<double>());

        var result = output.to(q.dtype);
        if (partial) result = next(call, q, k, v).index_copy(1, headIndex, result);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Bool [Lk] true at the sparsifier's always-kept keys, or null when there are none.</summary>
    private Tensor? SinkKeys(AttentionCall call, long lk, Device device)
    {
        if (Sparsifier.KeepSinks.Count == 0) return null;
        foreach (long s in Sparsifier.KeepSinks)
            if (s < 0 || s >= lk)
                throw new VDiTLensException($"keep_sinks position {s} is outside the {lk} keys of site {call.Site.Name}; fix 'keep_sinks'");
        var sinks = torch.zeros(lk, dtype: ScalarType.Bool, device: device);
        sinks.index_fill_(0, torch.tensor(Sparsifier.KeepSinks.ToArray(), device: device), true);
        return sinks;
    }
}
