using TorchSharp;
using VDiTLens.Attention.BlockSparse;
using VDiTLens.Runtime;
using static TorchSharp.torch;
using VDiTLens.Attention;

namespace VDiTLens.Benchmarks;

/// <summary>
/// Median times (ms) of one call's block selection at one shape: the previous way (<see cref="PreviousMs"/>: q and k
/// copied to float32, padded, mean-pooled, scored, stable sort), the current <see cref="BlockTopKSelection.Select"/>
/// (<see cref="CurrentMs"/>), its pooling alone, and the same scores through topk instead of the stable sort.
/// <see cref="SameBlocks"/>: share of kept-block slots the two selections agree on.
/// </summary>
public sealed record BlockSelectionTiming(int QueryBlock, int KeyBlock, long Keep, double PreviousMs, double CurrentMs, double PoolMs, double SortMs, double TopKMs, double SameBlocks)
{
    public double Speedup => PreviousMs / CurrentMs;
}

/// <summary>Times block_topk's block selection on random q, k of one shape, against the implementation it replaced.</summary>
public sealed class BlockSelectionBenchmark(Device device, ScalarType dtype, long[] shape)
{
    public BlockSelectionTiming Run(int queryBlock, int keyBlock, double sparsity, int repeats)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var q = torch.randn(shape, dtype, device);
        var k = torch.randn(shape, dtype, device);
        double scale = 1 / Math.Sqrt(shape[3]);
        var selection = new BlockTopKSelection(keyBlock, queryBlock, sparsity);
        long keep = selection.Keep(BlockSparseLayout.BlocksOf(shape[2], keyBlock));
        double previous = Microbenchmark.Median(device, repeats, () => { using var s = torch.NewDisposeScope(); Previous(q, k, scale, queryBlock, keyBlock, keep); });
        double current = Microbenchmark.Median(device, repeats, () => { using var s = torch.NewDisposeScope(); selection.Select(q, k, scale); });
        double pool = Microbenchmark.Median(device, repeats, () => { using var s = torch.NewDisposeScope(); BlockTopKSelection.Pool(q, queryBlock); BlockTopKSelection.Pool(k, keyBlock); });
        var scores = selection.Scores(q, k, scale);
        double sort = Microbenchmark.Median(device, repeats, () => { using var s = torch.NewDisposeScope(); scores.sort(-1, descending: true, stable: true).Indices.narrow(-1, 0, keep).sort(-1); });
        double topk = Microbenchmark.Median(device, repeats, () => { using var s = torch.NewDisposeScope(); scores.topk((int)keep, dim: -1).indexes.sort(-1); });
        var a = Previous(q, k, scale, queryBlock, keyBlock, keep);
        var b = selection.Select(q, k, scale).Indices;
        double same = a.eq(b).to(ScalarType.Float64).mean().item<double>();
        return new BlockSelectionTiming(queryBlock, keyBlock, keep, previous, current, pool, sort, topk, same);
    }

    /// <summary>The selection as it was before float32-accumulated pooling: converted and padded copies of q and k.</summary>
    private static Tensor Previous(Tensor q, Tensor k, double scale, int queryBlock, int keyBlock, long keep)
    {
        var scores = torch.matmul(Pool(q.to(ScalarType.Float32), queryBlock), Pool(k.to(ScalarType.Float32), keyBlock).transpose(-2, -1)) * scale;
        return scores.sort(-1, descending: true, stable: true).Indices.narrow(-1, 0, keep).sort(-1).Values;
    }

    private static Tensor Pool(Tensor x, int size)
    {
        long length = x.shape[2], blocks = BlockSparseLayout.BlocksOf(length, size);
        var sums = nn.functional.pad(x, new long[] { 0, 0, 0, blocks * size - length }).view(x.shape[0], x.shape[1], blocks, size, x.shape[3]).sum(3);
        var counts = torch.full(blocks, (double)size, dtype: x.dtype, device: x.device);
        counts[blocks - 1] = torch.tensor((double)(length - (blocks - 1) * size), dtype: x.dtype);
        return sums / counts.view(1, 1, blocks, 1);
    }
}
