using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Attention.BlockSparse;

/// <summary>
/// Which key blocks each query block attends to, as gather indices: <see cref="Indices"/> int64 [B, H, nQb, m] holds
/// key-block numbers; only the first <see cref="Counts"/>[b, h, qb] entries of a row are used (all m when Counts is null).
/// Blocks are <see cref="BlockSize"/> consecutive tokens; the last block of a sequence may be shorter.
/// </summary>
public sealed record BlockSparseLayout(Tensor Indices, Tensor? Counts, int BlockSize, long QueryLength, long KeyLength)
{
    public long QueryBlocks => Indices.shape[2];
    public long KeyBlocks => (KeyLength + BlockSize - 1) / BlockSize;
    public long MaxKept => Indices.shape[3];

    public static long BlocksOf(long length, int blockSize) => (length + blockSize - 1) / blockSize;

    /// <summary>From a bool block mask [B, H, nQb, nKb] (true = kept); every query block must keep at least one key block.</summary>
    public static BlockSparseLayout FromMask(Tensor blockMask, int blockSize, long queryLength, long keyLength)
    {
        if (blockMask.dim() != 4 || blockMask.shape[2] != BlocksOf(queryLength, blockSize) || blockMask.shape[3] != BlocksOf(keyLength, blockSize))
            throw new VDiTLensException($"block mask [{string.Join(", ", blockMask.shape)}] does not match {BlocksOf(queryLength, blockSize)} query × {BlocksOf(keyLength, blockSize)} key blocks of {blockSize}");
        using var scope = torch.NewDisposeScope();
        var counts = blockMask.sum(-1, type: ScalarType.Int64);
        if (counts.min().item<long>() < 1) throw new VDiTLensException("a query block keeps no key block; keep at least one per query block");
        long kept = counts.max().item<long>();
        // kept blocks first, in increasing block order (stable sort of 0/1 keys descending)
        var order = blockMask.to(ScalarType.Int32).sort(-1, descending: true, stable: true).Indices.narrow(-1, 0, kept);
        bool ragged = counts.min().item<long>() != kept;
        return new BlockSparseLayout(order.MoveToOuterDisposeScope(), ragged ? counts.MoveToOuterDisposeScope() : null, blockSize, queryLength, keyLength);
    }

    /// <summary>The bool block mask [B, H, nQb, nKb] this layout describes.</summary>
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

    /// <summary>Bool [B, H, nQb, m] (or [1,1,1,m] when not ragged): which slots of <see cref="Indices"/> are in use.</summary>
    public Tensor SlotValid() => Counts is null
        ? torch.ones(new long[] { 1, 1, 1, MaxKept }, dtype: ScalarType.Bool, device: Indices.device)
        : torch.arange(MaxKept, device: Indices.device).view(1, 1, 1, MaxKept) < Counts.unsqueeze(-1);

    /// <summary>Kept query-key pairs ÷ all pairs (counting the true lengths of ragged last blocks).</summary>
    public double Density()
    {
        using var scope = torch.NewDisposeScope();
        var blockLengths = torch.full(KeyBlocks, (double)BlockSize, dtype: ScalarType.Float64, device: Indices.device);
        blockLengths[KeyBlocks - 1] = torch.tensor((double)(KeyLength - (KeyBlocks - 1) * BlockSize), dtype: ScalarType.Float64);
        var queryLengths = torch.full(QueryBlocks, (double)BlockSize, dtype: ScalarType.Float64, device: Indices.device);
        queryLengths[QueryBlocks - 1] = torch.tensor((double)(QueryLength - (QueryBlocks - 1) * BlockSize), dtype: ScalarType.Float64);
        var keysPerRow = (blockLengths.index_select(0, Indices.flatten()).view(Indices.shape) * SlotValid().to(ScalarType.Float64)).sum(-1); // [B, H, nQb]
        double kept = (keysPerRow * queryLengths).sum().item<double>();
        return kept / ((double)Indices.shape[0] * Indices.shape[1] * QueryLength * KeyLength);
    }

    /// <summary>A layout keeping round(density · nKb) (at least 1) random key blocks per query block, for benchmarks.</summary>
    public static BlockSparseLayout Random(long batch, long heads, long queryLength, long keyLength, int blockSize, double density, Device device, Generator? generator = null)
    {
        long qb = BlocksOf(queryLength, blockSize), kb = BlocksOf(keyLength, blockSize);
        long kept = Math.Clamp((long)Math.Round(density * kb), 1, kb);
        using var scope = torch.NewDisposeScope();
        var scores = torch.rand(new[] { batch, heads, qb, kb }, generator: generator);
        var indices = scores.topk((int)kept, dim: -1).indexes.sort(-1).Values.to(device);
        return new BlockSparseLayout(indices.MoveToOuterDisposeScope(), null, blockSize, queryLength, keyLength);
    }
}
