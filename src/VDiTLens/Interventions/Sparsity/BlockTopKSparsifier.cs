using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// Block-sparse selection as in SpargeAttn / VSA: q and k are mean-pooled over consecutive blocks of
/// <see cref="BlockSize"/> tokens (the last block may be shorter), block pairs are scored by pooled q·k·scale, and
/// each query block keeps its nKb − floor(s·nKb) best key blocks (ties: lower block index kept). Every query of a
/// block keeps every key of its kept key blocks. The call's own mask still applies inside kept blocks.
/// </summary>
public sealed class BlockTopKSparsifier : Sparsifier
{
    public override string Name => "block_topk";
    public int BlockSize { get; }
    public double Sparsity { get; }

    public BlockTopKSparsifier(int blockSize, double sparsity, IReadOnlyList<long>? keepSinks = null) : base(keepSinks)
    {
        BlockSize = blockSize >= 1 ? blockSize : throw new VDiTLensException($"block_topk 'block_size' must be at least 1 (got {blockSize})");
        Sparsity = CheckSparsity(sparsity);
    }

    public override KeepMask Begin(SparsityInputs inputs)
    {
        var scores = torch.matmul(Pool(inputs.Q), Pool(inputs.K).transpose(-2, -1)) * inputs.Call.Scale; // [B, H, nQb, nKb]
        long keyBlocks = scores.shape[^1];
        long keepCount = keyBlocks - (long)Math.Floor(Sparsity * keyBlocks);
        var blockKeep = RowRanks.Of(scores, descending: true) < keepCount;
        var keyBlockOf = torch.arange(inputs.K.shape[2], dtype: ScalarType.Int64, device: scores.device).div(BlockSize, rounding_mode: RoundingMode.floor);
        var expanded = blockKeep.index_select(3, keyBlockOf); // [B, H, nQb, Lk]
        return block => expanded.index_select(2, block.Rows.div(BlockSize, rounding_mode: RoundingMode.floor));
    }

    /// <summary>Mean over consecutive blocks of the sequence dimension: [B, H, L, D] → [B, H, ceil(L/b), D].</summary>
    private Tensor Pool(Tensor x)
    {
        long length = x.shape[2], blocks = (length + BlockSize - 1) / BlockSize;
        var padded = nn.functional.pad(x, new long[] { 0, 0, 0, blocks * BlockSize - length });
        var sums = padded.view(x.shape[0], x.shape[1], blocks, BlockSize, x.shape[3]).sum(3);
        var counts = torch.full(blocks, (double)BlockSize, dtype: x.dtype, device: x.device);
        counts[blocks - 1] = torch.tensor((double)(length - (blocks - 1) * BlockSize), dtype: x.dtype);
        return sums / counts.view(1, 1, blocks, 1);
    }
}
