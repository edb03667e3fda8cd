using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Attention.BlockSparse;

/// <summary>
/// Which key blocks each query tile keeps, as in SpargeAttn / VSA: q is mean-pooled over query tiles of
/// <see cref="QueryBlockSize"/> tokens and k over key blocks of <see cref="KeyBlockSize"/> tokens (last ones may be
/// shorter), tile-block pairs are scored by q̄·k̄·scale, and each tile keeps its <see cref="Keep"/> best key blocks (ties
/// to the lower block). Give either a sparsity s (keeps nKb − floor(s·nKb)) or a number of key blocks (at most nKb).
/// The selection is per call, batch row and head: q and k differ across heads and steps, so nothing is reused.
/// </summary>
public sealed record BlockTopKSelection
{
    public int KeyBlockSize { get; }
    public int QueryBlockSize { get; }
    /// <summary>Fraction of key blocks dropped per query tile, or null when <see cref="KeepBlocks"/> is given.</summary>
    public double? Sparsity { get; }
    /// <summary>Key blocks kept per query tile (capped at the call's block count), or null when <see cref="Sparsity"/> is given.</summary>
    public long? KeepBlocks { get; }

    public BlockTopKSelection(int keyBlockSize, int? queryBlockSize = null, double? sparsity = null, long? keepBlocks = null)
    {
        KeyBlockSize = keyBlockSize >= 1 ? keyBlockSize : throw new VDiTLensException($"block_topk 'block_size' must be at least 1 (got {keyBlockSize})");
        QueryBlockSize = queryBlockSize ?? keyBlockSize;
        if (QueryBlockSize < 1) throw new VDiTLensException($"block_topk 'query_block_size' must be at least 1 (got {QueryBlockSize})");
        if (sparsity is null == keepBlocks is null) throw new VDiTLensException("block_topk needs exactly one of 'sparsity' and 'keep_blocks'");
        if (sparsity is { } s && !(s >= 0 && s < 1)) throw new VDiTLensException($"block_topk 'sparsity' must lie in [0, 1) (got {s})");
        if (keepBlocks is < 1) throw new VDiTLensException($"block_topk 'keep_blocks' must be at least 1 (got {keepBlocks})");
        (Sparsity, KeepBlocks) = (sparsity, keepBlocks);
    }

    /// <summary>Key blocks kept per query tile out of <paramref name="keyBlocks"/>.</summary>
    public long Keep(long keyBlocks) => KeepBlocks is { } k ? Math.Min(k, keyBlocks) : keyBlocks - (long)Math.Floor(Sparsity!.Value * keyBlocks);

    /// <summary>The layout for q [B, H, Lq, D] against k [B, H, Lk, D].</summary>
    public BlockSparseLayout Select(Tensor q, Tensor k, double scale)
    {
        using var scope = torch.NewDisposeScope();
        var scores = Scores(q, k, scale);
        var layout = BlockSparseLayout.TopK(scores, Keep(scores.shape[3]), QueryBlockSize, KeyBlockSize, q.shape[2], k.shape[2]);
        layout.Indices.MoveToOuterDisposeScope();
        return layout;
    }

    /// <summary>q̄·k̄·scale [B, H, nQt, nKb], in float64 for float64 inputs and float32 otherwise.</summary>
    public Tensor Scores(Tensor q, Tensor k, double scale)
    {
        using var scope = torch.NewDisposeScope();
        var pooledQ = Pool(q, QueryBlockSize);
        var pooledK = Pool(k, KeyBlockSize);
        return (torch.matmul(pooledQ, pooledK.transpose(-2, -1)) * scale).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean of each run of <paramref name="size"/> tokens of x [B, H, L, D] → [B, H, ceil(L/size), D]. Sums in float32
    /// (float64 for float64 x) straight from x's dtype: splitting the sequence axis is a view, so neither a converted nor
    /// a padded copy of x is made; a shorter last run is summed separately.
    /// </summary>
    public static Tensor Pool(Tensor x, int size)
    {
        var dtype = x.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        long length = x.shape[2], whole = length / size, rest = length - whole * size;
        using var scope = torch.NewDisposeScope();
        var parts = new List<Tensor>(2);
        if (whole > 0)
            parts.Add(x.narrow(2, 0, whole * size).view(x.shape[0], x.shape[1], whole, size, x.shape[3]).sum(3, type: dtype).div_(size));
        if (rest > 0)
            parts.Add(x.narrow(2, whole * size, rest).sum(2, keepdim: true, type: dtype).div_(rest));
        var pooled = parts.Count == 1 ? parts[0] : torch.cat(parts, 2);
        return pooled.MoveToOuterDisposeScope();
    }
}
