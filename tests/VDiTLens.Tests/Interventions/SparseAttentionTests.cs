using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Interventions;

public sealed class SparseAttentionTests
{
    /// <summary>Roughly 3 query rows per block for the test case (exercises blocking).</summary>
    private const long SmallBudget = 60_000;

    private static (ISparsifier Sparsifier, DenseReference.KeepRule Rule) Build(string name, InterventionCase c) => name switch
    {
        "bottom_k" => (new BottomKSparsifier(0.3), ReferenceRules.BottomK(0.3)),
        "bottom_k_high" => (new BottomKSparsifier(0.9), ReferenceRules.BottomK(0.9)),
        "top_k" => (new TopKSparsifier(7), ReferenceRules.TopK(7)),
        "threshold" => (new ThresholdSparsifier(0.02), ReferenceRules.Threshold(0.02)),
        "block_topk" => (new BlockTopKSparsifier(8, 0.5), ReferenceRules.BlockTopK(c.Q, c.K, c.Scale, 8, 0.5)),
        "block_topk_ragged" => (new BlockTopKSparsifier(5, 0.7), ReferenceRules.BlockTopK(c.Q, c.K, c.Scale, 5, 0.7)),
        "sliding_tile" => (new SlidingTileSparsifier((1, 2, 2), (1, 1, 1)), ReferenceRules.SlidingTile((1, 2, 2), (1, 1, 1))),
        "sliding_tile_wide" => (new SlidingTileSparsifier((2, 1, 3), (1, 3, 2)), ReferenceRules.SlidingTile((2, 1, 3), (1, 3, 2))),
        "bottom_k_sinks" => (new BottomKSparsifier(0.9, new long[] { 0, 20 }), ReferenceRules.WithSinks(ReferenceRules.BottomK(0.9), 0, 20)),
        "sliding_tile_sinks" => (new SlidingTileSparsifier((1, 2, 2), (1, 1, 1), new long[] { 3, 40 }),
            ReferenceRules.WithSinks(ReferenceRules.SlidingTile((1, 2, 2), (1, 1, 1)), 3, 40)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [InlineData("bottom_k", 1L << 30)]
    [InlineData("bottom_k", SmallBudget)]
    [InlineData("bottom_k_high", SmallBudget)]
    [InlineData("top_k", SmallBudget)]
    [InlineData("threshold", SmallBudget)]
    [InlineData("block_topk", 1L << 30)]
    [InlineData("block_topk", SmallBudget)]
    [InlineData("block_topk_ragged", SmallBudget)]
    [InlineData("sliding_tile", SmallBudget)]
    [InlineData("sliding_tile_wide", 1L << 30)]
    [InlineData("bottom_k_sinks", SmallBudget)]
    [InlineData("sliding_tile_sinks", SmallBudget)]
    public void Sparsifier_equals_the_dense_reference_and_reports_its_density(string name, long budget)
    {
        var c = new InterventionCase();
        var (sparsifier, rule) = Build(name, c);
        var actual = c.Run(new SparseAttention(sparsifier, memoryBudgetBytes: budget));
        var reference = c.Reference();
        var expected = reference.Attend(rule);

        Fixtures.AssertClose(actual, expected, 1e-13, name);
        double density = sparsifier.Density.Of(c.Site.Name);
        Assert.Equal(reference.Kept / reference.Valid, density, 12);
        Assert.InRange(density, 0.0, 0.95); // the case really sparsifies
    }

    [Theory]
    [InlineData(ScalarType.Float64, 1e-13)]
    [InlineData(ScalarType.Float32, 1e-5)]
    public void Zero_sparsity_equals_dense_sdpa(ScalarType dtype, double tolerance)
    {
        var c = new InterventionCase(dtype);
        var g = InterventionCase.Grid;
        var sparsifiers = new ISparsifier[]
        {
            new BottomKSparsifier(0), new TopKSparsifier(InterventionCase.Length), new ThresholdSparsifier(0),
            new BlockTopKSparsifier(8, 0), new SlidingTileSparsifier((1, 1, 1), (g.Frames, g.Height, g.Width)),
        };
        var dense = c.Dense();
        foreach (var s in sparsifiers)
        {
            var actual = c.Run(new SparseAttention(s, memoryBudgetBytes: SmallBudget));
            Assert.Equal(dtype, actual.dtype);
            Fixtures.AssertClose(actual, dense, tolerance, s.Name);
            Assert.Equal(1.0, s.Density.Of(c.Site.Name), 15);
        }
    }

    [Fact]
    public void Bottom_k_ties_drop_the_lower_key_indices_first()
    {
        var c = new InterventionCase();
        var q = c.Q.clone();
        q[TensorIndex.Colon, 0] = torch.tensor(0.0); // head 0: every valid key has the same probability
        var actual = c.Run(new[] { new SparseAttention(new BottomKSparsifier(0.5)) }, q: q);

        Fixtures.AssertClose(actual, c.Reference(q: q).Attend(ReferenceRules.BottomK(0.5)), 1e-13, "bottom-k with ties");
        // batch 0 has 53 equal keys: floor(26.5) = 26 lowest indices dropped, so the output is the mean of v[26..52]
        var expected = c.V[0, 0, TensorIndex.Slice(26, null)].mean(new long[] { 0 });
        Fixtures.AssertClose(actual[0, 0, 10], expected, 1e-13, "uniform row");
    }

    [Fact]
    public void Heads_outside_the_scope_are_untouched()
    {
        var c = new InterventionCase();
        var scope = new AttentionSelector { Heads = new long[] { 2, 0 } };
        var actual = c.Run(new SparseAttention(new BottomKSparsifier(0.5), scope, SmallBudget));
        var sparse = c.Reference().Attend(ReferenceRules.BottomK(0.5));
        var dense = c.Dense();

        Assert.True(actual[TensorIndex.Colon, 1].eq(dense[TensorIndex.Colon, 1]).all().item<bool>(), "head 1 must be the dense kernel's output");
        foreach (long h in new long[] { 0, 2 })
            Fixtures.AssertClose(actual[TensorIndex.Colon, h], sparse[TensorIndex.Colon, h], 1e-13, $"head {h}");
    }

    [Fact]
    public void Density_accumulates_per_site()
    {
        var c = new InterventionCase();
        var sparsifier = new TopKSparsifier(10);
        var intervention = new SparseAttention(sparsifier);
        c.Run(intervention);
        c.Run(new[] { intervention }, site: new AttentionSite("blocks.3.attn1", 3, AttentionKind.Joint, "attn.3.joint"));
        c.Run(intervention);
        var reference = c.Reference();
        reference.Attend(ReferenceRules.TopK(10));
        Assert.Equal(new[] { "blocks.2.attn1", "blocks.3.attn1" }, sparsifier.Density.BySite.Keys.Order());
        Assert.Equal(reference.Kept / reference.Valid, sparsifier.Density.Of("blocks.3.attn1"), 12);
        Assert.Equal(reference.Kept / reference.Valid, sparsifier.Density.Overall, 12);
    }
}
