using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Attention.BlockSparse;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Attention.BlockSparse;

/// <summary>The gather-based block-sparse path against dense attention with the expanded block mask (float64).</summary>
public sealed class BlockSparseAttentionTests(ITestOutputHelper output)
{
    private static (Tensor Q, Tensor K, Tensor V) Inputs(long lq, long lk, ScalarType dtype = ScalarType.Float64, int seed = 3)
    {
        TorchRuntime.Initialise();
        using var g = new Generator((ulong)seed);
        return (torch.randn(new long[] { 2, 3, lq, 8 }, dtype, generator: g) * 2,
                torch.randn(new long[] { 2, 3, lk, 8 }, dtype, generator: g) * 2,
                torch.randn(new long[] { 2, 3, lk, 8 }, dtype, generator: g));
    }

    /// <summary>Random block mask with at least one kept block per row, counts varying by row.</summary>
    private static Tensor RaggedMask(long qb, long kb, int seed)
    {
        using var g = new Generator((ulong)seed);
        var mask = torch.rand(new long[] { 2, 3, qb, kb }, generator: g) < 0.4;
        var first = torch.randint(kb, new long[] { 2, 3, qb, 1 }, generator: g);
        return mask.scatter(-1, first, torch.ones(new long[] { 2, 3, qb, 1 }, dtype: ScalarType.Bool));
    }

    /// <summary>softmax over the keys of kept blocks, computed densely from the block mask expanded to [B, H, Lq, Lk].</summary>
    private static Tensor MaskedDense(Tensor q, Tensor k, Tensor v, Tensor blockMask, int blockSize)
    {
        var qBlock = torch.arange(q.shape[2]).div(blockSize, rounding_mode: RoundingMode.floor);
        var kBlock = torch.arange(k.shape[2]).div(blockSize, rounding_mode: RoundingMode.floor);
        var full = blockMask.index_select(2, qBlock).index_select(3, kBlock);
        var p = AttentionKernels.Probabilities(q.to(ScalarType.Float64), k.to(ScalarType.Float64), 1 / Math.Sqrt(q.shape[3]), full);
        return torch.matmul(p, v.to(ScalarType.Float64));
    }

    [Theory]
    [InlineData(48, 48, 8, false, 1L << 30)] // whole blocks, same kept count in every row: unmasked SDPA
    [InlineData(45, 45, 8, true, 1L << 30)]  // padded last block and ragged rows
    [InlineData(20, 37, 6, true, 1L << 30)]  // queries and keys of different lengths
    [InlineData(45, 45, 8, true, 1)]         // one query block per chunk
    public void Gathered_tiles_equal_masked_dense_attention(int lq, int lk, int blockSize, bool ragged, long budget)
    {
        var (q, k, v) = Inputs(lq, lk);
        long qb = BlockSparseLayout.BlocksOf(lq, blockSize), kb = BlockSparseLayout.BlocksOf(lk, blockSize);
        var layout = ragged
            ? BlockSparseLayout.FromMask(RaggedMask(qb, kb, 5), blockSize, lq, lk)
            : BlockSparseLayout.Random(2, 3, lq, lk, blockSize, 0.5, torch.CPU, new Generator(9));
        Assert.Equal(ragged, layout.Counts is not null);
        var actual = BlockSparseAttention.Compute(q, k, v, layout, memoryBudgetBytes: budget);
        var expected = MaskedDense(q, k, v, layout.ToMask(), blockSize);
        double error = Fixtures.RelativeL2(actual, expected);
        output.WriteLine($"lq {lq} lk {lk} b {blockSize}: relative L2 {error:E2}, density {layout.Density():F3}");
        Assert.True(error <= 1e-13, $"relative L2 {error:E2}");
    }

    [Fact]
    public void Float32_matches_the_float64_reference()
    {
        var (q, k, v) = Inputs(45, 45, ScalarType.Float32);
        var layout = BlockSparseLayout.FromMask(RaggedMask(6, 6, 11), 8, 45, 45);
        double error = Fixtures.RelativeL2(BlockSparseAttention.Compute(q, k, v, layout).to(ScalarType.Float64), MaskedDense(q, k, v, layout.ToMask(), 8));
        output.WriteLine($"float32: relative L2 {error:E2}");
        Assert.True(error <= 1e-5, $"relative L2 {error:E2}");
    }

    [Fact]
    public void Layout_round_trips_its_mask_and_counts_true_pair_density()
    {
        var mask = RaggedMask(6, 5, 13);
        var layout = BlockSparseLayout.FromMask(mask, 8, 45, 37);
        Assert.True(layout.ToMask().eq(mask).all().item<bool>());
        var qBlock = torch.arange(45L).div(8, rounding_mode: RoundingMode.floor);
        var kBlock = torch.arange(37L).div(8, rounding_mode: RoundingMode.floor);
        double expected = mask.index_select(2, qBlock).index_select(3, kBlock).to(ScalarType.Float64).mean().item<double>();
        Assert.Equal(expected, layout.Density(), 12);
        Assert.Throws<VDiTLensException>(() => BlockSparseLayout.FromMask(torch.zeros(1, 1, 6, 5, dtype: ScalarType.Bool), 8, 45, 37));
    }

    [Fact]
    public void Block_topk_through_the_gather_path_equals_the_blockwise_sparsifier()
    {
        var (q, k, v) = Inputs(45, 45);
        var site = new AttentionSite("blocks.0.attn1", 0, AttentionKind.Self, "attn.0.self");
        var layout = TokenLayout.Video(new VideoGrid(5, 3, 3));
        Tensor Run(IAttentionIntervention i)
        {
            var seam = new AttentionSeam();
            seam.Attach(i);
            return seam.Attend(site, q, k, v, layout, layout);
        }
        var sparsifier = new BlockTopKSparsifier(8, 0.5);
        var gather = new BlockTopKGatherAttention(8, 0.5);
        var expected = Run(new SparseAttention(sparsifier));
        var actual = Run(gather);
        double error = Fixtures.RelativeL2(actual, expected);
        output.WriteLine($"block_topk gather vs blockwise: relative L2 {error:E2}, density {gather.Density.Of(site.Name):F4}");
        Assert.True(error <= 1e-13, $"relative L2 {error:E2}");
        Assert.Equal(sparsifier.Density.Of(site.Name), gather.Density.Of(site.Name), 12);
        Assert.InRange(gather.Density.Of(site.Name), 0.3, 0.7);
    }
}
