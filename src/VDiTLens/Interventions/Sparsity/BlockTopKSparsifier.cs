using TorchSharp;
using VDiTLens.Attention.BlockSparse;
using static TorchSharp.torch;
using VDiTLens.Attention;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// <see cref="BlockTopKSelection"/> as a keep-mask for <see cref="SparseAttention"/>: every query of a tile keeps every
/// key of the tile's kept key blocks. The call's own mask still applies inside kept blocks. This is the masked path of
/// <see cref="BlockTopKAttention"/> (calls with a mask, a head subset or kept sinks); it needs the dense logits.
/// </summary>
public sealed class BlockTopKSparsifier(BlockTopKSelection selection, IReadOnlyList<long>? keepSinks = null) : Sparsifier(keepSinks)
{
    public override string Name => "block_topk";
    public BlockTopKSelection Selection { get; } = selection;

    public BlockTopKSparsifier(int blockSize, double sparsity, IReadOnlyList<long>? keepSinks = null)
        : this(new BlockTopKSelection(blockSize, sparsity: sparsity), keepSinks) { }

    public override KeepMask Begin(SparsityInputs inputs) =>
        Keep(Selection.Select(inputs.Q, inputs.K, inputs.Call.Scale), inputs.K.shape[2]);

    /// <summary>The keep-mask of a chosen layout: every query of a tile keeps every key of the tile's kept blocks.</summary>
    public KeepMask Keep(BlockSparseLayout layout, long keys)
    {
        var expanded = layout.ToMask();
        var keyBlockOf = torch.arange(keys, dtype: ScalarType.Int64, device: expanded.device).div(Selection.KeyBlockSize, rounding_mode: RoundingMode.floor);
        expanded = expanded.index_select(3, keyBlockOf); // [B, H, nQt, Lk]
        return block => expanded.index_select(2, block.Rows.div(Selection.QueryBlockSize, rounding_mode: RoundingMode.floor));
    }
}
