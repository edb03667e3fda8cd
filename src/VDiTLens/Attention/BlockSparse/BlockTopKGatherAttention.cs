using TorchSharp;
using VDiTLens.Interventions;
using VDiTLens.Interventions.Sparsity;
using static TorchSharp.torch;

namespace VDiTLens.Attention.BlockSparse;

/// <summary>
/// block_topk through the fast path: key blocks of <see cref="BlockSize"/> tokens are scored against query tiles of
/// <see cref="QueryBlockSize"/> tokens by their mean-pooled q and k (q̄·k̄·scale), and each query tile keeps its
/// nKb − floor(s·nKb) best key blocks (ties to the lower block); attention runs through <see cref="BlockSparseAttention"/>
/// so cost scales with the kept blocks. With query tiles equal to the key blocks (the default) the selection is
/// <see cref="BlockTopKSparsifier"/>'s; coarser query tiles share one key-block set per tile. Calls with their own mask,
/// or outside the scope, go on unchanged; head subsets are not supported (use <see cref="SparseAttention"/> for those).
/// </summary>
public sealed class BlockTopKGatherAttention : IAttentionIntervention
{
    public int BlockSize { get; }
    public int QueryBlockSize { get; }
    public double Sparsity { get; }
    public InterventionScope Scope { get; }
    public long MemoryBudgetBytes { get; }
    public DensityMeter Density { get; } = new();

    public BlockTopKGatherAttention(int blockSize, double sparsity, InterventionScope? scope = null, long memoryBudgetBytes = 4L << 30, int? queryBlockSize = null)
    {
        BlockSize = blockSize >= 1 ? blockSize : throw new VDiTLensException($"block size must be at least 1 (got {blockSize})");
        QueryBlockSize = queryBlockSize ?? blockSize;
        if (QueryBlockSize < 1) throw new VDiTLensException($"query block size must be at least 1 (got {QueryBlockSize})");
        Sparsity = sparsity is >= 0 and < 1 ? sparsity : throw new VDiTLensException($"'sparsity' must lie in [0, 1) (got {sparsity})");
        Scope = scope ?? InterventionScope.All;
        if (!Scope.AllHeads) throw new VDiTLensException("the block-sparse gather path runs on all heads; drop 'heads' or use block_topk");
        MemoryBudgetBytes = memoryBudgetBytes;
    }

    public bool Accepts(AttentionCall call) => call.Mask is null && Scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        using var scope = torch.NewDisposeScope();
        using var layout = Select(q, k, call.Scale);
        double density = layout.Layout.Density();
        long pairs = q.shape[0] * q.shape[1] * q.shape[2] * k.shape[2];
        Density.Add(call.Site.Name, density * pairs, pairs);
        return BlockSparseAttention.Compute(q, k, v, layout.Layout, call.Scale, MemoryBudgetBytes).MoveToOuterDisposeScope();
    }

    /// <summary>The kept key blocks of every query tile.</summary>
    public OwnedLayout Select(Tensor q, Tensor k, double scale)
    {
        using var scope = torch.NewDisposeScope();
        var dtype = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var scores = torch.matmul(Pool(q.to(dtype), QueryBlockSize), Pool(k.to(dtype), BlockSize).transpose(-2, -1)) * scale; // [B, H, nQt, nKb]
        long keyBlocks = scores.shape[^1];
        long keep = keyBlocks - (long)Math.Floor(Sparsity * keyBlocks);
        var layout = BlockSparseLayout.TopK(scores, keep, QueryBlockSize, BlockSize, q.shape[2], k.shape[2]);
        layout.Indices.MoveToOuterDisposeScope();
        return new OwnedLayout(layout);
    }

    /// <summary>Mean of each run of <paramref name="size"/> tokens (the last run may be shorter): [B, H, blocks, D].</summary>
    private static Tensor Pool(Tensor x, int size)
    {
        long length = x.shape[2], blocks = BlockSparseLayout.BlocksOf(length, size);
        var sums = nn.functional.pad(x, new long[] { 0, 0, 0, blocks * size - length })
            .view(x.shape[0], x.shape[1], blocks, size, x.shape[3]).sum(3);
        var counts = torch.full(blocks, (double)size, dtype: x.dtype, device: x.device);
        counts[blocks - 1] = torch.tensor((double)(length - (blocks - 1) * size), dtype: x.dtype);
        return sums / counts.view(1, 1, blocks, 1);
    }

    /// <summary>A layout whose tensors are disposed with it.</summary>
    public sealed record OwnedLayout(BlockSparseLayout Layout) : IDisposable
    {
        public void Dispose()
        {
            Layout.Indices.Dispose();
            Layout.Counts?.Dispose();
        }
    }
}
