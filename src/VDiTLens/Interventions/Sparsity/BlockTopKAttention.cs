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
/// is exact but computes the dense logits. Both paths compute the same function; <see cref="GatheredCalls"/> and
/// <see cref="MaskedCalls"/> count which one ran.
/// </summary>
public sealed class BlockTopKAttention : ISparseIntervention
{
    private readonly BlockTopKSparsifier _sparsifier;
    private readonly SparseAttention _masked;

    public BlockTopKSelection Selection { get; }
    public InterventionScope Scope { get; }
    public IReadOnlyList<long> KeepSinks => _sparsifier.KeepSinks;
    /// <summary>Budget of the gathered key/value tiles per chunk of query tiles.</summary>
    public long GatherMemoryBytes { get; }
    public DensityMeter Density => _sparsifier.Density;
    public int GatheredCalls { get; private set; }
    public int MaskedCalls { get; private set; }

    public BlockTopKAttention(BlockTopKSelection selection, InterventionScope? scope = null, IReadOnlyList<long>? keepSinks = null,
        long gatherMemoryBytes = 4L << 30, long maskedMemoryBytes = 256L << 20)
    {
        Selection = selection;
        Scope = scope ?? InterventionScope.All;
        GatherMemoryBytes = gatherMemoryBytes > 0 ? gatherMemoryBytes : throw new VDiTLensException("block_topk memory budget must be positive");
        _sparsifier = new BlockTopKSparsifier(selection, keepSinks);
        _masked = new SparseAttention(_sparsifier, Scope, maskedMemoryBytes);
    }

    public bool Accepts(AttentionCall call) => Scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        if (call.Mask is not null || !Scope.AllHeads || KeepSinks.Count > 0)
        {
            MaskedCalls++;
            return _masked.Invoke(call, q, k, v, next);
        }
        GatheredCalls++;
        using var scope = torch.NewDisposeScope();
        var layout = Selection.Select(q, k, call.Scale);
        long pairs = q.shape[0] * q.shape[1] * q.shape[2] * k.shape[2];
        Density.Add(call.Site.Name, layout.Density() * pairs, pairs);
        return BlockSparseAttention.Compute(q, k, v, layout, call.Scale, GatherMemoryBytes).MoveToOuterDisposeScope();
    }
}
