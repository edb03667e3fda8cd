using VDiTLens.Interventions.Sparsity;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Interventions.Sparsity;

public sealed class BottomKPerHeadSparsifierTests
{
    /// <summary>The per-head rule by its definition: the floor(s·N) smallest valid probabilities of the head's whole map go, ties at the threshold too, each row's largest stays.</summary>
    private static DenseReference.KeepRule PerHead(DenseReference reference, double sparsity)
    {
        var thresholds = new Dictionary<(int, int), double>();
        for (int b = 0; b < reference.Batch; b++)
        {
            var valid = reference.ValidRow(b);
            for (int h = 0; h < reference.Heads; h++)
            {
                var all = Enumerable.Range(0, reference.Queries)
                    .SelectMany(i => reference.Probabilities(b, h, i).Where((_, j) => valid[j])).Order().ToArray();
                int drop = (int)Math.Floor(all.Length * sparsity);
                thresholds[(b, h)] = drop == 0 ? -1 : all[drop - 1];
            }
        }
        return (b, h, i, p, valid) =>
        {
            double max = p.Where((_, j) => valid[j]).Max();
            return p.Select((x, j) => !valid[j] || x > thresholds[(b, h)] || x == max).ToArray();
        };
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(0.9)]
    public void Per_head_bottom_k_equals_the_dense_reference(double sparsity)
    {
        var c = new InterventionCase();
        var sparsifier = new BottomKPerHeadSparsifier(sparsity);
        var actual = c.Run(new SparseAttention(sparsifier, memoryBudgetBytes: 60_000));
        var reference = c.Reference();
        var expected = reference.Attend(PerHead(reference, sparsity));
        Fixtures.AssertClose(actual, expected, 1e-13, $"bottom_k_head {sparsity}");
        double density = sparsifier.Density.Of(c.Site.Name);
        Assert.Equal(reference.Kept / reference.Valid, density, 12);
        // About 1 − s of the pairs are kept (a few more: each row's top key is kept).
        Assert.InRange(density, 1 - sparsity - 1e-9, 1 - sparsity + 0.05);
    }

    [Fact]
    public void Per_head_threshold_differs_from_per_row_bottom_k_on_the_same_maps()
    {
        var c = new InterventionCase();
        var perHead = c.Run(new SparseAttention(new BottomKPerHeadSparsifier(0.5)));
        var perRow = c.Run(new SparseAttention(new BottomKSparsifier(0.5)));
        Assert.True(perHead.sub(perRow).abs().max().item<double>() > 1e-3, "the two readings of bottom-k gave the same output");
    }

    [Fact]
    public void Sparsity_outside_zero_to_one_is_refused()
    {
        Assert.Throws<VDiTLensException>(() => new BottomKPerHeadSparsifier(1.0));
        Assert.Throws<VDiTLensException>(() => new BottomKPerHeadSparsifier(-0.1));
    }
}
