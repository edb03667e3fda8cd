using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Attention.BlockSparse;
using static TorchSharp.torch;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// The <c>block_topk</c> sparsifier: key blocks chosen per query tile by <see cref="BlockTopKSelection"/>, every query of
/// a tile attending to all keys of its tile's kept blocks. Calls without their own mask, on all heads and with no kept
/// sinks run through <see cref="BlockSparseAttention"/> (gathered tiles, cost scales with the kept blocks); the others
/// (a head subset, <c>keep_sinks</c>, padded keys) through <see cref="SparseAttention"/> with the same selection, which
/// is exact but computes the dense logits. Both paths compute the same function and hand the same selection to the
/// probes; <see cref="GatheredCalls"/> and <see cref="MaskedCalls"/> count which one ran (a mask or selection added by
/// a later intervention also sends a call to the masked path).
/// </summary>
public sealed class BlockTopKAttention : ISparseIntervention
{
    private readonly BlockTopKSparsifier _sparsifier;
    private readonly SparseAttention _masked;

    public BlockTopKSelection Selection { get; }
    public AttentionSelector Scope { get; }
    public IReadOnlyList<long> KeepSinks => _sparsifier.KeepSinks;
    /// <summary>Budget of the gathered key/value tiles per chunk of query tiles.</summary>
    public long GatherMemoryBytes { get; }
    public DensityMeter Density => _sparsifier.Density;
    public int GatheredCalls { get; private set; }
    public int MaskedCalls { get; private set; }

    public BlockTopKAttention(BlockTopKSelection selection, AttentionSelector? scope = null, IReadOnlyList<long>? keepSinks = null,
        long gatherMemoryBytes = 4L << 30, long maskedMemoryBytes = 256L << 20)
    {
        Selection = selection;
        Scope = scope ?? AttentionSelector.All;
        GatherMemoryBytes = gatherMemoryBytes > 0 ? gatherMemoryBytes : throw new VDiTLensException("block_topk memory budget must be positive");
        _sparsifier = new BlockTopKSparsifier(selection, keepSinks);
        _masked = new SparseAttention(_sparsifier, Scope, maskedMemoryBytes);
    }

    public bool Accepts(AttentionCall call) => Scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        using var scope = torch.NewDisposeScope();
        bool gatherable = call.Mask is null && call.Keys.Count == 0 && Scope.AllHeads && KeepSinks.Count == 0
                          && Scope.RowIndices(call, q.shape[0]) is null;
        KeySelection selection;
        if (gatherable)
        {
            var layout = Selection.Select(q, k, call.Scale);
            selection = new KeySelection(_sparsifier.Name, _sparsifier.Keep(layout, k.shape[2]))
            {
                Kernel = (c, qc, kc, vc) =>
                {
                    GatheredCalls++;
                    long pairs = qc.shape[0] * qc.shape[1] * qc.shape[2] * kc.shape[2];
                    Density.Add(c.Site.Name, layout.Density() * pairs, pairs);
                    return BlockSparseAttention.Compute(qc, kc, vc, layout, c.Scale, GatherMemoryBytes);
                },
                MemoryBudgetBytes = _masked.MemoryBudgetBytes,
            };
        }
        else selection = _masked.Selection(call, q, k, v);
        var density = selection.Applied;
        selection = selection with
        {
            Applied = (c, kept, total) =>
            {
                MaskedCalls++;
                if (density is null) Density.Add(c.Site.Name, kept, total);
                else density(c, kept, total);
            },
        };
        return next(call.WithKeys(selection), q, k, v).MoveToOuterDisposeScope();
    }
}
