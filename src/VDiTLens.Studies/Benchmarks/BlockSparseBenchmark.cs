using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Attention.BlockSparse;
using VDiTLens.Metrics;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

/// <summary>
/// One (query tile, density) point of the block-sparse benchmark: median times of dense SDPA and of the gather path (and
/// its gather alone), and the sparse output's relative L2 error against a float32 masked dense reference on the first
/// query tiles (<see cref="DenseError"/>: dense SDPA against the float32 unmasked reference on the same rows, the
/// precision floor of the dtype).
/// </summary>
public sealed record BlockSparseTiming(
    int QueryBlock, int KeyBlock, double TargetDensity, double Density, long KeptBlocks, long KeyBlocks,
    double DenseMs, double SparseMs, double GatherMs, bool Masked, double SparseError, double DenseError)
{
    public double Speedup => DenseMs / SparseMs;
    /// <summary>The speed-up if cost were exactly proportional to density.</summary>
    public double IdealSpeedup => 1 / Density;
}

/// <summary>
/// Times <see cref="BlockSparseAttention"/> against dense scaled_dot_product_attention on random q, k, v of one shape
/// (default: Wan2.1-1.3B self-attention at 480p, [1, 12, 32760, 128]), with random block layouts of given densities,
/// for each query tile size over key blocks of one size.
/// </summary>
public sealed class BlockSparseBenchmark(Device device, ScalarType dtype, long[] shape, int keyBlock, IReadOnlyList<int> queryBlocks, long memoryBudgetBytes)
{
    public static readonly long[] WanShape = { 1, 12, 32760, 128 };

    /// <summary>Rows checked against the float32 reference: at least this many leading queries (whole tiles).</summary>
    private const long CheckedQueries = 1024;

    public IReadOnlyList<BlockSparseTiming> Run(IReadOnlyList<double> densities, int repeats, Action<string>? log = null)
    {
        if (shape.Length != 4 || shape.Any(s => s < 1)) throw new VDiTLensException($"--shape must be four positive sizes B,H,L,D (got {string.Join(",", shape)})");
        if (keyBlock < 1 || queryBlocks.Count == 0 || queryBlocks.Any(t => t < 1)) throw new VDiTLensException("--block and --query-blocks must be at least 1");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(0);
        var q = torch.randn(shape, dtype, device);
        var k = torch.randn(shape, dtype, device);
        var v = torch.randn(shape, dtype, device);
        double scale = AttentionKernels.DefaultScale(q);
        double denseMs = Microbenchmark.Median(device, repeats, () => AttentionKernels.Sdpa(q, k, v, scale).Dispose());
        log?.Invoke($"dense SDPA: {denseMs:F2} ms");
        var results = new List<BlockSparseTiming>();
        long length = shape[2];
        foreach (int tile in queryBlocks)
            foreach (double density in densities)
            {
                if (!(density > 0 && density <= 1)) throw new VDiTLensException($"--densities: {density} is not in (0, 1]");
                using var inner = torch.NewDisposeScope();
                var layout = BlockSparseLayout.Random(shape[0], shape[1], length, length, tile, keyBlock, density, device, generator);
                double sparseMs = Microbenchmark.Median(device, repeats, () => BlockSparseAttention.Compute(q, k, v, layout, memoryBudgetBytes: memoryBudgetBytes).Dispose());
                double gatherMs = Microbenchmark.Median(device, repeats, () => Gather(k, layout).Dispose());
                var (sparseError, denseError) = Check(q, k, v, layout, scale);
                bool masked = length % keyBlock != 0;
                var t = new BlockSparseTiming(tile, keyBlock, density, layout.Density(), layout.MaxKept, layout.KeyBlocks, denseMs, sparseMs, gatherMs, masked, sparseError, denseError);
                log?.Invoke($"query tile {tile}, density {t.Density:F3}: {sparseMs:F2} ms ({t.Speedup:F2}× dense, ideal {t.IdealSpeedup:F1}×), " +
                            $"error vs float32 masked dense {sparseError:E2} (dense SDPA vs float32: {denseError:E2})");
                results.Add(t);
            }
        return results;
    }

    /// <summary>
    /// Relative L2 error of the sparse output on the first query tiles against float32 softmax attention with the layout's
    /// token mask, and of dense SDPA against float32 unmasked attention on the same rows.
    /// </summary>
    private static (double Sparse, double Dense) Check(Tensor q, Tensor k, Tensor v, BlockSparseLayout layout, double scale)
    {
        using var scope = torch.NewDisposeScope();
        long tiles = Math.Min(layout.QueryBlocks, (CheckedQueries + layout.QueryBlockSize - 1) / layout.QueryBlockSize);
        long rows = Math.Min(q.shape[2], tiles * layout.QueryBlockSize);
        var sparse = BlockSparseAttention.Compute(q, k, v, layout).narrow(2, 0, rows);
        var dense = AttentionKernels.Sdpa(q, k, v, scale).narrow(2, 0, rows);
        var qRows = q.narrow(2, 0, rows).to(ScalarType.Float32);
        var kf = k.to(ScalarType.Float32);
        var vf = v.to(ScalarType.Float32);
        var kBlock = torch.arange(k.shape[2], device: k.device).div(layout.KeyBlockSize, rounding_mode: RoundingMode.floor);
        var qTile = torch.arange(rows, device: q.device).div(layout.QueryBlockSize, rounding_mode: RoundingMode.floor);
        var mask = layout.ToMask().narrow(2, 0, tiles).index_select(2, qTile).index_select(3, kBlock);
        var masked = torch.matmul(AttentionKernels.Probabilities(qRows, kf, scale, mask), vf);
        var full = torch.matmul(AttentionKernels.Probabilities(qRows, kf, scale), vf);
        return (RelativeL2.Of(masked, sparse), RelativeL2.Of(full, dense));
    }

    /// <summary>The key gather of the whole layout alone (what the sparse path adds to the attention itself).</summary>
    private Tensor Gather(Tensor k, BlockSparseLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        long b = layout.KeyBlockSize, nkb = layout.KeyBlocks, l = k.shape[2];
        var padded = l == nkb * b ? k : nn.functional.pad(k, new long[] { 0, 0, 0, nkb * b - l });
        var blocks = padded.reshape(-1, b, k.shape[3]);
        var rowBase = (torch.arange(k.shape[0] * k.shape[1], device: k.device) * nkb).view(k.shape[0], k.shape[1], 1, 1);
        // chunked as Compute gathers (keys and values count there; only keys here)
        long perTile = layout.MaxKept * b * k.shape[3] * k.element_size() * k.shape[0] * k.shape[1] * 4;
        long chunk = Math.Clamp(memoryBudgetBytes / Math.Max(1, perTile), 1, layout.QueryBlocks);
        Tensor last = null!;
        for (long start = 0; start < layout.QueryBlocks; start += chunk)
        {
            long n = Math.Min(chunk, layout.QueryBlocks - start);
            last = blocks.index_select(0, (layout.Indices.narrow(2, start, n) + rowBase).reshape(-1));
        }
        return last.MoveToOuterDisposeScope();
    }
}
