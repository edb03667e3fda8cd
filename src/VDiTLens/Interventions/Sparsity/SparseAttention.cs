using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// Attention with keys dropped by a sparsifier: the selected rows and heads of each call get a
/// <see cref="KeySelection"/> (logits → keep-mask, dropped keys -inf → softmax over the kept keys → p·v), which the
/// seam's terminal step computes block by block over queries under <see cref="MemoryBudgetBytes"/> (float64 for
/// float64 models, float32 otherwise) and which every probe at the site reads. Rows and heads outside the scope are
/// computed densely, unchanged.
/// </summary>
public sealed class SparseAttention : ISparseIntervention
{
    public ISparsifier Sparsifier { get; }
    public AttentionSelector Scope { get; }
    public long MemoryBudgetBytes { get; }
    public DensityMeter Density => Sparsifier.Density;

    public SparseAttention(ISparsifier sparsifier, AttentionSelector? scope = null, long memoryBudgetBytes = 256L << 20)
    {
        Sparsifier = sparsifier;
        Scope = scope ?? AttentionSelector.All;
        MemoryBudgetBytes = memoryBudgetBytes > 0 ? memoryBudgetBytes : throw new VDiTLensException("sparse attention memory budget must be positive");
    }

    public bool Accepts(AttentionCall call) => Scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        using var scope = torch.NewDisposeScope();
        return next(call.WithKeys(Selection(call, q, k, v)), q, k, v).MoveToOuterDisposeScope();
    }

    /// <summary>The sparsifier's choice for one call, on the scoped rows and heads. Its tensors live in the caller's dispose scope.</summary>
    public KeySelection Selection(AttentionCall call, Tensor q, Tensor k, Tensor v)
    {
        var rows = Scope.RowIndices(call, q.shape[0]);
        var heads = Scope.HeadSubset(call, q.shape[1]);
        var dtype = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var keep = Sparsifier.Begin(new SparsityInputs(call, AppliedAttention.Narrow(q, rows, heads).to(dtype),
            AppliedAttention.Narrow(k, rows, heads).to(dtype), AppliedAttention.Narrow(v, rows, heads).to(dtype),
            AppliedAttention.NarrowMask(call.Mask, rows, heads, null), heads ?? Scope.HeadIndices(call, q.shape[1])));
        var sinks = SinkKeys(call, k.shape[2], q.device);
        return new KeySelection(Sparsifier.Name, sinks is null ? keep : block => keep(block).logical_or(sinks), rows, heads)
        {
            Applied = (c, kept, total) => Sparsifier.Density.Add(c.Site.Name, kept, total),
            MemoryBudgetBytes = MemoryBudgetBytes,
        };
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
