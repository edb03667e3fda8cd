using TorchSharp;
using VDiTLens.Interventions;
using VDiTLens.Interventions.Sparsity;
using static TorchSharp.torch;

namespace VDiTLens.Attention.BlockSparse;

/// <summary>
/// block_topk through the fast path: the same block selection as <see cref="BlockTopKSparsifier"/> (mean-pooled q and k
/// per block, nKb − floor(s·nKb) best key blocks per query block, ties to the lower block), computed with
/// <see cref="BlockSparseAttention"/> so cost scales with the kept blocks. Calls with their own mask, or outside the
/// scope, go on unchanged; head subsets are not supported (use <see cref="SparseAttention"/> for those).
/// </summary>
public sealed class BlockTopKGatherAttention : IAttentionIntervention
{
    public int BlockSize { get; }
    public double Sparsity { get; }
    public InterventionScope Scope { get; }
    public long MemoryBudgetBytes { get; }
    public DensityMeter Density { get; } = new();

    public BlockTopKGatherAttention(int blockSize, double sparsity, InterventionScope? scope = null, long memoryBudgetBytes = 4L << 30)
    {
        BlockSize = blockSize >= 1 ? blockSize : throw new VDiTLensException($"block size must be at least 1 (got {blockSize})");
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

    /// <summary>The kept key blocks of every query block, as <see cref="BlockTopKSparsifier"/> chooses them.</summary>
    public OwnedLayout Select(Tensor q, Tensor k, double scale)
    {
        using var scope = torch.NewDisposeScope();
        var dtype = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var scores = torch.matmul(Pool(q.to(dtype)), Pool(k.to(dtype)).transpose(-2, -1)) * scale; // [B, H, nQb, nKb]
        long keyBlocks = scores.shape[^1];
        long keep = keyBlocks - (long)Math.Floor(Sparsity * keyBlocks);
        var mask = RowRanks.Of(scores, descending: true) < keep;
        var layout = BlockSparseLayout.FromMask(mask, BlockSize, q.shape[2], k.shape[2]);
        layout.Indices.MoveToOuterDisposeScope();
        layout.Counts?.MoveToOuterDisposeScope();
        return new OwnedLayout(layout);
    }

    private Tensor Pool(Tensor x)
    {
        long length = x.shape[2], blocks = BlockSparseLayout.BlocksOf(length, BlockSize);
        var sums = nn.functional.pad(x, new long[] { 0, 0, 0, blocks * BlockSize - length })
            .view(x.shape[0], x.shape[1], blocks, BlockSize, x.shape[3]).sum(3);
        var counts = torch.full(blocks, (double)BlockSize, dtype: x.dtype, device: x.device);
        counts[blocks - 1] = torch.tensor((double)(length - (blocks - 1) * BlockSize), dtype: x.dtype);
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
