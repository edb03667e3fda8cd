using TorchSharp;
using VDiTLens.Interventions;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;
using VDiTLens.Attention;

namespace VDiTLens.Tests.Interventions;

public sealed class SpatialTemporalSparsifierTests
{
    private const int Samples = 6;

    /// <summary>Head 0 prefers keys at the same (y, x), head 1 keys in the same frame, head 2 is random.</summary>
    private static (Tensor Q, Tensor K) StructuredHeads(InterventionCase c)
    {
        var (q, k) = (c.Q.clone(), c.K.clone());
        int start = InterventionCase.TextLength;
        for (int i = start; i < InterventionCase.Length; i++)
        {
            var (f, y, x) = InterventionCase.Coordinates(i)!.Value;
            var position = torch.zeros(InterventionCase.HeadDim, dtype: ScalarType.Float64);
            position[y] = torch.tensor(3.0);
            position[4 + x] = torch.tensor(3.0);
            var frame = torch.zeros(InterventionCase.HeadDim, dtype: ScalarType.Float64);
            frame[f] = torch.tensor(4.0);
            foreach (var t in new[] { q, k })
            {
                t[TensorIndex.Colon, 0, i] = position + 0.1 * t[TensorIndex.Colon, 0, i];
                t[TensorIndex.Colon, 1, i] = frame + 0.3 * t[TensorIndex.Colon, 1, i];
            }
        }
        return (q, k);
    }

    /// <summary>Each head's pattern by the naive profile: squared output error of the sampled queries under each mask.</summary>
    private static HeadPattern[] ReferencePatterns(DenseReference r, int frameRadius)
    {
        long n = InterventionCase.Grid.Count;
        var samples = Enumerable.Range(0, Samples).Select(i => InterventionCase.TextLength + (int)Math.Floor((i + 0.5) * n / Samples)).ToArray();
        var patterns = new HeadPattern[r.Heads];
        for (int h = 0; h < r.Heads; h++)
        {
            double spatialError = 0, temporalError = 0;
            for (int b = 0; b < r.Batch; b++)
            foreach (int i in samples)
            {
                var valid = r.ValidRow(b);
                var logits = r.Logits(b, h, i);
                var dense = r.Output(b, h, DenseReference.Softmax(logits, valid));
                double Error(Func<int, bool> keep)
                {
                    var o = r.Output(b, h, DenseReference.Softmax(logits, valid.Select((x, j) => x && keep(j)).ToArray()));
                    return o.Select((x, d) => (x - dense[d]) * (x - dense[d])).Sum();
                }
                spatialError += Error(j => ReferenceRules.Spatial(i, j, frameRadius));
                temporalError += Error(j => ReferenceRules.Temporal(i, j));
            }
            patterns[h] = temporalError < spatialError ? HeadPattern.Temporal : HeadPattern.Spatial;
        }
        return patterns;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Heads_are_classified_by_profiling_and_computed_under_their_pattern(int frameRadius)
    {
        var c = new InterventionCase();
        var (q, k) = StructuredHeads(c);
        var sparsifier = new SpatialTemporalSparsifier(Samples, frameRadius);
        var actual = c.Run(new[] { new SparseAttention(sparsifier, memoryBudgetBytes: 60_000) }, q: q, k: k);

        var reference = c.Reference(q: q, k: k);
        var patterns = ReferencePatterns(reference, frameRadius);
        Assert.Equal(HeadPattern.Temporal, patterns[0]);
        Assert.Equal(HeadPattern.Spatial, patterns[1]);
        Assert.Equal(patterns.Select((p, h) => ((long)h, p)), sparsifier.Patterns[c.Site.Name]);

        var expected = reference.Attend((_, h, i, p, _) => Enumerable.Range(0, p.Length)
            .Select(j => patterns[h] == HeadPattern.Temporal ? ReferenceRules.Temporal(i, j) : ReferenceRules.Spatial(i, j, frameRadius)).ToArray());
        Fixtures.AssertClose(actual, expected, 1e-13, "spatial/temporal attention");
        Assert.Equal(reference.Kept / reference.Valid, sparsifier.Density.Of(c.Site.Name), 12);
    }

    [Fact]
    public void Classification_covers_only_the_scoped_heads()
    {
        var c = new InterventionCase();
        var (q, k) = StructuredHeads(c);
        var sparsifier = new SpatialTemporalSparsifier(Samples);
        var actual = c.Run(new[] { new SparseAttention(sparsifier, new AttentionSelector { Heads = new long[] { 1 } }) }, q: q, k: k);

        Assert.Equal(new[] { (1L, HeadPattern.Spatial) }, sparsifier.Patterns[c.Site.Name]);
        var dense = c.Dense(q, k);
        foreach (long h in new long[] { 0, 2 })
            Assert.True(actual[TensorIndex.Colon, h].eq(dense[TensorIndex.Colon, h]).all().item<bool>(), $"head {h} must be dense");
    }
}
