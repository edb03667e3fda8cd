using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Attention.BlockSparse;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

/// <summary>One density of the block-sparse benchmark: median times of dense SDPA and of the gather path (and its gather alone).</summary>
public sealed record BlockSparseTiming(
    double TargetDensity, double Density, long KeptBlocks, long KeyBlocks, double DenseMs, double SparseMs, double GatherMs, bool Masked)
{
    public double Speedup => DenseMs / SparseMs;
    /// <summary>The speed-up if cost were exactly proportional to density.</summary>
    public double IdealSpeedup => 1 / Density;
}

/// <summary>
/// Times <see cref="BlockSparseAttention"/> against dense scaled_dot_product_attention on random q, k, v of one shape
/// (default: Wan2.1-1.3B self-attention at 480p, [1, 12, 32760, 128]), with random block layouts of given densities.
/// </summary>
public sealed class BlockSparseBenchmark(Device device, ScalarType dtype, long[] shape, int blockSize, long memoryBudgetBytes)
{
    public static readonly long[] WanShape = { 1, 12, 32760, 128 };

    public IReadOnlyList<BlockSparseTiming> Run(IReadOnlyList<double> densities, int repeats, Action<string>? log = null)
    {
        if (shape.Length != 4 || shape.Any(s => s < 1)) throw new VDiTLensException($"--shape must be four positive sizes B,H,L,D (got {string.Join(",", shape)})");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(0);
        var q = torch.randn(shape, dtype, device);
        var k = torch.randn(shape, dtype, device);
        var v = torch.randn(shape, dtype, device);
        double denseMs = Microbenchmark.Median(device, repeats, () => AttentionKernels.Sdpa(q, k, v, AttentionKernels.DefaultScale(q)).Dispose());
        log?.Invoke($"dense SDPA: {denseMs:F2} ms");
        var results = new List<BlockSparseTiming>();
        long length = shape[2];
        foreach (double density in densities)
        {
            if (!(density > 0 && density <= 1)) throw new VDiTLensException($"--densities: {density} is not in (0, 1]");
            using var inner = torch.NewDisposeScope();
            var layout = BlockSparseLayout.Random(shape[0], shape[1], length, length, blockSize, density, device, generator);
            double sparseMs = Microbenchmark.Median(device, repeats, () => BlockSparseAttention.Compute(q, k, v, layout, memoryBudgetBytes: memoryBudgetBytes).Dispose());
            double gatherMs = Microbenchmark.Median(device, repeats, () => Gather(k, layout).Dispose());
            bool masked = length % blockSize != 0;
            var t = new BlockSparseTiming(density, layout.Density(), layout.MaxKept, layout.KeyBlocks, denseMs, sparseMs, gatherMs, masked);
            log?.Invoke($"density {t.Density:F3}: {sparseMs:F2} ms ({t.Speedup:F2}× dense, ideal {t.IdealSpeedup:F1}×)");
            results.Add(t);
        }
        return results;
    }

    /// <summary>The key gather of the whole layout alone (what the sparse path adds to the attention itself).</summary>
    private Tensor Gather(Tensor k, BlockSparseLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        long b = layout.BlockSize, nkb = layout.KeyBlocks, l = k.shape[2];
        var padded = l == nkb * b ? k : nn.functional.pad(k, new long[] { 0, 0, 0, nkb * b - l });
        var blocks = padded.reshape(-1, b, k.shape[3]);
        var rowBase = (torch.arange(k.shape[0] * k.shape[1], device: k.device) * nkb).view(k.shape[0], k.shape[1], 1, 1);
        // one chunk's worth at most, as Compute gathers chunk by chunk
        long perBlock = layout.MaxKept * b * k.shape[3] * k.element_size() * k.shape[0] * k.shape[1];
        long chunk = Math.Clamp(memoryBudgetBytes / 4 / Math.Max(1, perBlock), 1, layout.QueryBlocks);
        Tensor last = null!;
        for (long start = 0; start < layout.QueryBlocks; start += chunk)
        {
            long n = Math.Min(chunk, layout.QueryBlocks - start);
            last = blocks.index_select(0, (layout.Indices.narrow(2, start, n) + rowBase).reshape(-1));
        }
        return last.MoveToOuterDisposeScope();
    }
}
