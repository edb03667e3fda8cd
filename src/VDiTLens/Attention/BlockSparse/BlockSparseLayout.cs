using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Attention.BlockSparse;

/// <summary>
/// Which key blocks each query tile attends to, as gather indices: <see cref="Indices"/> int64 [B, H, nQt, m] holds
/// key-block numbers; only the first <see cref="Counts"/>[b, h, qt] entries of a row are used (all m when Counts is null).
/// Query tiles are <see cref="QueryBlockSize"/> consecutive queries and key blocks <see cref="KeyBlockSize"/> consecutive
/// keys (the two may differ: coarse query tiles share one key-block set); the last tile or block may be shorter.
/// </summary>
public sealed record BlockSparseLayout(Tensor Indices, Tensor? Counts, int QueryBlockSize, int KeyBlockSize, long QueryLength, long KeyLength)
{
    public long QueryBlocks => Indices.shape[2];
    public long KeyBlocks => BlocksOf(KeyLength, KeyBlockSize);
    public long MaxKept => Indices.shape[3];

    public static long BlocksOf(long length, int blockSize) => (length + blockSize - 1) / blockSize;

    /// <summary>Blocks of one size for queries and keys.</summary>
    public static BlockSparseLayout FromMask(Tensor blockMask, int blockSize, long queryLength, long keyLength) =>
        FromMask(blockMask, blockSize, blockSize, queryLength, keyLength);

    /// <summary>From a bool block mask [B, H, nQt, nKb] (true = kept); every query tile must keep at least one key block.</summary>
    public static BlockSparseLayout FromMask(Tensor blockMask, int queryBlockSize, int keyBlockSize, long queryLength, long keyLength)
    {
        if (blockMask.dim() != 4 || blockMask.shape[2] != BlocksOf(queryLength, queryBlockSize) || blockMask.shape[3] != BlocksOf(keyLength, keyBlockSize))
            throw new VDiTLensException($"block mask [{string.Join(", ", blockMask.shape)}] does not match {BlocksOf(queryLength, queryBlockSize)} query tiles of {queryBlockSize} × {BlocksOf(keyLength, keyBlockSize)} key blocks of {keyBlockSize}");
        using var scope = torch.NewDisposeScope();
        var counts = blockMask.sum(-1, type: ScalarType.Int64);
        if (counts.min().item<long>() < 1) throw new VDiTLensException("a query block keeps no key block; keep at least one per query block");
        long kept = counts.max().item<long>();
        // kept blocks first, in increasing block order (stable sort of 0/1 keys descending)
        var order = blockMask.to(ScalarType.Int32).sort(-1, descending: true, stable: true).Indices.narrow(-1, 0, kept);
        bool ragged = counts.min().item<long>() != kept;
        return new BlockSparseLayout(order.MoveToOuterDisposeScope(), ragged ? counts.MoveToOuterDisposeScope() : null,
            queryBlockSize, keyBlockSize, queryLength, keyLength);
    }

    /// <summary>
    /// The <paramref name="keep"/> highest-scoring key blocks of every query tile (ties to the lower block), in increasing
    /// block order, from scores [B, H, nQt, nKb]. Same count in every row, so nothing is copied to the host.
    /// </summary>
    public static BlockSparseLayout TopK(Tensor scores, long keep, int queryBlockSize, int keyBlockSize, long queryLength, long keyLength)
    {
        if (scores.dim() != 4 || scores.shape[2] != BlocksOf(queryLength, queryBlockSize) || scores.shape[3] != BlocksOf(keyLength, keyBlockSize))
            throw new VDiTLensException($"block scores [{string.Join(", ", scores.shape)}] do not match {BlocksOf(queryLength, queryBlockSize)} query tiles × {BlocksOf(keyLength, keyBlockSize)} key blocks");
        if (keep < 1 || keep > scores.shape[3]) throw new VDiTLensException($"keep {keep} key blocks of {scores.shape[3]}: must lie in [1, {scores.shape[3]}]");
        using var scope = torch.NewDisposeScope();
        var chosen = scores.sort(-1, descending: true, stable: true).Indices.narrow(-1, 0, keep).sort(-1).Values;
        return new BlockSparseLayout(chosen.MoveToOuterDisposeScope(), null, queryBlockSize, keyBlockSize, queryLength, keyLength);
    }

    /// <summary>The bool block mask [B, H, nQt, nKb] this layout describes.</summary>
    public Tensor ToMask()
    {
        using var scope = torch.NewDisposeScope();
        // unused slots write into an extra column that is dropped afterwards
        var target = Indices.masked_fill(SlotValid().expand(Indices.shape).logical_not(), KeyBlocks);
        var mask = torch.zeros(new[] { Indices.shape[0], Indices.shape[1], QueryBlocks, KeyBlocks + 1 }, dtype: ScalarType.Bool, device: Indices.device)
            .scatter_(-1, target, torch.ones(target.shape, dtype: ScalarType.Bool, device: Indices.device))
            .narrow(-1, 0, KeyBlocks);
        return mask.MoveToOuterDisposeScope();
    }

    /// <summary>The token mask [B, H, Lq, Lk] this layout describes (for references and tests: quadratic in length).</summary>
    public Tensor ToTokenMask()
    {
        using var scope = torch.NewDisposeScope();
        var qTile = torch.arange(QueryLength, device: Indices.device).div(QueryBlockSize, rounding_mode: RoundingMode.floor);
        var kBlock = torch.arange(KeyLength, device: Indices.device).div(KeyBlockSize, rounding_mode: RoundingMode.floor);
        return ToMask().index_select(2, qTile).index_select(3, kBlock).MoveToOuterDisposeScope();
    }

    /// <summary>Bool [B, H, nQt, m] (or [1,1,1,m] when not ragged): which slots of <see cref="Indices"/> are in use.</summary>
    public Tensor SlotValid() => Counts is null
        ? torch.ones(new long[] { 1, 1, 1, MaxKept }, dtype: ScalarType.Bool, device: Indices.device)
        : torch.arange(MaxKept, device: Indices.device).view(1, 1, 1, MaxKept) < Counts.unsqueeze(-1);

    /// <summary>Kept query-key pairs ÷ all pairs (counting the true lengths of ragged last blocks).</summary>
    public double Density()
    {
        // Whole key blocks and the same count in every row: m blocks of b keys for every query, no device read.
        if (Counts is null && KeyLength % KeyBlockSize == 0) return (double)MaxKept * KeyBlockSize / KeyLength;
        using var scope = torch.NewDisposeScope();
        var blockLengths = torch.full(KeyBlocks, (double)KeyBlockSize, dtype: ScalarType.Float64, device: Indices.device);
        blockLengths[KeyBlocks - 1] = torch.tensor((double)(KeyLength - (KeyBlocks - 1) * KeyBlockSize), dtype: ScalarType.Float64);
        var queryLengths = torch.full(QueryBlocks, (double)QueryBlockSize, dtype: ScalarType.Float64, device: Indices.device);
        queryLengths[QueryBlocks - 1] = torch.tensor((double)(QueryLength - (QueryBlocks - 1) * QueryBlockSize), dtype: ScalarType.Float64);
        var keysPerRow = (blockLengths.index_select(0, Indices.flatten()).view(Indices.shape) * SlotValid().to(ScalarType.Float64)).sum(-1); // [B, H, nQt]
        double kept = (keysPerRow * queryLengths).sum().item<double>();
        return kept / ((double)Indices.shape[0] * Indices.shape[1] * QueryLength * KeyLength);
    }

    /// <summary>Blocks of one size for queries and keys.</summary>
    public static BlockSparseLayout Random(long batch, long heads, long queryLength, long keyLength, int blockSize, double density, Device device, Generator? generator = null) =>
        Random(batch, heads, queryLength, keyLength, blockSize, blockSize, density, device, generator);

    /// <summary>A layout keeping round(density · nKb) (at least 1) random key blocks per query tile, for benchmarks.</summary>
    public static BlockSparseLayout Random(long batch, long heads, long queryLength, long keyLength, int queryBlockSize, int keyBlockSize, double density, Device device, Generator? generator = null)
    {
        long qt = BlocksOf(queryLength, queryBlockSize), kb = BlocksOf(keyLength, keyBlockSize);
        long kept = Math.Clamp((long)Math.Round(density * kb), 1, kb);
        using var scope = torch.NewDisposeScope();
        var scores = torch.rand(new[] { batch, heads, qt, kb }, generator: generator);
        var indices = scores.topk((int)kept, dim: -1).indexes.sort(-1).Values.to(device);
        return new BlockSparseLayout(indices.MoveToOuterDisposeScope(), null, queryBlockSize, keyBlockSize, queryLength, keyLength);
    }
}
