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

    private static Tensor MaskedDense(Tensor q, Tensor k, Tensor v, Tensor blockMask, int blockSize) =>
        MaskedDense(q, k, v, blockMask, blockSize, blockSize);

    /// <summary>softmax over the keys of kept blocks, computed densely from the block mask expanded to [B, H, Lq, Lk].</summary>
    private static Tensor MaskedDense(Tensor q, Tensor k, Tensor v, Tensor blockMask, int queryTile, int keyBlock)
    {
        var qBlock = torch.arange(q.shape[2]).div(queryTile, rounding_mode: RoundingMode.floor);
        var kBlock = torch.arange(k.shape[2]).div(keyBlock, rounding_mode: RoundingMode.floor);
        var full = blockMask.index_select(2, qBlock).index_select(3, kBlock);
        var p = AttentionKernels.Probabilities(q.to(ScalarType.Float64), k.to(ScalarType.Float64), 1 / Math.Sqrt(q.shape[3]), full);
        return torch.matmul(p, v.to(ScalarType.Float64));
    }

    [Theory]
    [InlineData(48, 48, 16, 8, false, 1L << 30)] // query tiles of two key blocks, whole tiles: unmasked SDPA
    [InlineData(45, 45, 24, 8, true, 1L << 30)]  // padded last tile and key block, ragged rows
    [InlineData(45, 37, 12, 8, true, 1L << 30)]  // tile not a multiple of the key block, different lengths
    [InlineData(50, 45, 16, 8, true, 1)]         // one query tile per chunk
    [InlineData(45, 45, 4, 8, true, 1L << 30)]   // query tiles finer than key blocks
    public void Coarse_query_tiles_equal_masked_dense_attention(int lq, int lk, int queryTile, int keyBlock, bool ragged, long budget)
    {
        var (q, k, v) = Inputs(lq, lk);
        long qt = BlockSparseLayout.BlocksOf(lq, queryTile), kb = BlockSparseLayout.BlocksOf(lk, keyBlock);
        var layout = ragged
            ? BlockSparseLayout.FromMask(RaggedMask(qt, kb, 7), queryTile, keyBlock, lq, lk)
            : BlockSparseLayout.Random(2, 3, lq, lk, queryTile, keyBlock, 0.5, torch.CPU, new Generator(9));
        Assert.Equal(ragged, layout.Counts is not null);
        var actual = BlockSparseAttention.Compute(q, k, v, layout, memoryBudgetBytes: budget);
        var expected = MaskedDense(q, k, v, layout.ToMask(), queryTile, keyBlock);
        double error = Fixtures.RelativeL2(actual, expected);
        output.WriteLine($"lq {lq} lk {lk} tile {queryTile} block {keyBlock}: relative L2 {error:E2}, density {layout.Density():F3}");
        Assert.True(error <= 1e-13, $"relative L2 {error:E2}");
        Assert.True(layout.ToTokenMask().eq(ExpandedMask(layout.ToMask(), lq, lk, queryTile, keyBlock)).all().item<bool>());
    }

    private static Tensor ExpandedMask(Tensor blockMask, long lq, long lk, int queryTile, int keyBlock)
    {
        var full = torch.zeros(new[] { blockMask.shape[0], blockMask.shape[1], lq, lk }, dtype: ScalarType.Bool);
        var m = blockMask.data<bool>().ToArray();
        long qt = blockMask.shape[2], kb = blockMask.shape[3];
        for (long b = 0; b < blockMask.shape[0]; b++)
            for (long h = 0; h < blockMask.shape[1]; h++)
                for (long i = 0; i < lq; i++)
                    for (long j = 0; j < lk; j++)
                        if (m[((b * blockMask.shape[1] + h) * qt + i / queryTile) * kb + j / keyBlock])
                            full[b, h, i, j] = torch.tensor(true);
        return full;
    }

    [Fact]
    public void TopK_layout_keeps_the_highest_scores_with_ties_to_the_lower_block()
    {
        // integer scores with many ties
        using var g = new Generator(21);
        var scores = torch.randint(0, 4, new long[] { 2, 3, 5, 7 }, generator: g).to(ScalarType.Float64);
        const int keep = 3;
        var layout = BlockSparseLayout.TopK(scores, keep, 16, 8, 70, 56);
        var values = scores.data<double>().ToArray();
        var indices = layout.Indices.data<long>().ToArray();
        for (int row = 0; row < 2 * 3 * 5; row++)
        {
            var expected = Enumerable.Range(0, 7).OrderByDescending(j => values[row * 7 + j]).ThenBy(j => j).Take(keep).OrderBy(j => j).Select(j => (long)j);
            Assert.Equal(expected, indices.Skip(row * keep).Take(keep));
        }
        Assert.Null(layout.Counts);
        Assert.Equal(3.0 * 8 / 56, layout.Density(), 15);
        Assert.Throws<VDiTLensException>(() => BlockSparseLayout.TopK(scores, 0, 16, 8, 70, 56));
        Assert.Throws<VDiTLensException>(() => BlockSparseLayout.TopK(scores, 3, 16, 8, 90, 56));
    }

    [Fact]
    public void Block_topk_with_coarse_query_tiles_equals_a_naive_float64_reference()
    {
        const int tile = 12, block = 8, lq = 45, lk = 45;
        const double sparsity = 0.5;
        var (q, k, v) = Inputs(lq, lk, seed: 17);
        var site = new AttentionSite("blocks.0.attn1", 0, AttentionKind.Self, "attn.0.self");
        var tokens = TokenLayout.Video(new VideoGrid(5, 3, 3));
        var gather = new BlockTopKAttention(new BlockTopKSelection(block, tile, sparsity));
        var seam = new AttentionSeam();
        seam.Attach(gather);
        var actual = seam.Attend(site, q, k, v, tokens, tokens);

        // naive: means of token runs, scores per (tile, block), best nKb − floor(s·nKb) blocks per tile
        long qt = BlockSparseLayout.BlocksOf(lq, tile), kb = BlockSparseLayout.BlocksOf(lk, block);
        long keep = kb - (long)Math.Floor(sparsity * kb);
        var mask = torch.zeros(new long[] { 2, 3, qt, kb }, dtype: ScalarType.Bool);
        double scale = 1 / Math.Sqrt(8);
        for (long b = 0; b < 2; b++)
            for (long h = 0; h < 3; h++)
            {
                var qMeans = Enumerable.Range(0, (int)qt).Select(i => q[b, h].narrow(0, i * tile, Math.Min(tile, lq - i * tile)).mean(new long[] { 0 })).ToArray();
                var kMeans = Enumerable.Range(0, (int)kb).Select(j => k[b, h].narrow(0, j * block, Math.Min(block, lk - j * block)).mean(new long[] { 0 })).ToArray();
                for (int i = 0; i < qt; i++)
                {
                    var score = kMeans.Select(km => (qMeans[i] * km).sum().item<double>() * scale).ToArray();
                    foreach (int j in Enumerable.Range(0, (int)kb).OrderByDescending(j => score[j]).ThenBy(j => j).Take((int)keep))
                        mask[b, h, i, j] = torch.tensor(true);
                }
            }
        var expected = MaskedDense(q, k, v, mask, tile, block);
        double error = Fixtures.RelativeL2(actual, expected);
        double expectedDensity = ExpandedMask(mask, lq, lk, tile, block).to(ScalarType.Float64).mean().item<double>();
        output.WriteLine($"block_topk, tiles {tile} over blocks {block}: relative L2 {error:E2}, density {gather.Density.Of(site.Name):F4}");
        Assert.True(error <= 1e-13, $"relative L2 {error:E2}");
        Assert.Equal(expectedDensity, gather.Density.Of(site.Name), 12);
        Assert.Equal((1, 0), (gather.GatheredCalls, gather.MaskedCalls));
        // and it differs from dense attention: the selection really drops keys
        Assert.True(Fixtures.RelativeL2(actual, torch.matmul(AttentionKernels.Probabilities(q, k, scale), v)) > 1e-3);
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
        var gather = new BlockTopKAttention(new BlockTopKSelection(8, sparsity: 0.5));
        var expected = Run(new SparseAttention(sparsifier));
        var actual = Run(gather);
        double error = Fixtures.RelativeL2(actual, expected);
        output.WriteLine($"block_topk gather vs blockwise: relative L2 {error:E2}, density {gather.Density.Of(site.Name):F4}");
        Assert.True(error <= 1e-13, $"relative L2 {error:E2}");
        Assert.Equal(sparsifier.Density.Of(site.Name), gather.Density.Of(site.Name), 12);
        Assert.InRange(gather.Density.Of(site.Name), 0.3, 0.7);
    }
}
