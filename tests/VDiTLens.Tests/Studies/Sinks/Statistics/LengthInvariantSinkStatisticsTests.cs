using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Runtime;
using VDiTLens.Studies.Sinks;
using VDiTLens.Studies.Sinks.Statistics;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Studies.Sinks.Statistics;

/// <summary>
/// Sinks planted in float64 attention maps at two sequence lengths: the length-invariant statistics (absolute
/// top mass, Sink^ε, set mass, set mass ÷ uniform share) agree across lengths, the old ratio to the mean key does
/// not, and every statistic equals the same quantity computed here by its definition.
/// </summary>
public sealed class LengthInvariantSinkStatisticsTests
{
    private const int Frames = 4;
    private static readonly double[] TwoSinkHeads = { 0.45, 0.35, 0, 0 };

    private static (double[][][] P, VideoGrid Grid) VideoMaps(int side, double[] shares, Func<VideoGrid, int[]> target, int seed)
    {
        var grid = new VideoGrid(Frames, side, side);
        int n = (int)grid.Count;
        return (PlantedMaps.Build(n, n, shares, target(grid), null, seed), grid);
    }

    private static double MaxHeadTopMassByDefinition(double[][] mass) => mass.Max(row => row.Max());

    [Theory]
    [InlineData(8, 16)]   // 256 and 1,024 keys
    public void Single_key_sink_has_the_same_top_mass_and_Sink_epsilon_at_both_lengths_but_not_the_same_mean_ratio(int shortSide, int longSide)
    {
        TorchRuntime.Initialise();
        var results = new[] { shortSide, longSide }.Select(side =>
        {
            var (p, grid) = VideoMaps(side, TwoSinkHeads, _ => new[] { 0 }, seed: side);
            var mass = PlantedMaps.ReceivedMass(p);
            var m = new HeadMassMatrix(mass);
            var heads = HeadMassStatistics.Of(m, topK: 3);
            // Each statistic against its definition, computed here.
            for (int h = 0; h < mass.Length; h++)
            {
                var sorted = mass[h].OrderByDescending(x => x).ToArray();
                var ascending = mass[h].Order().ToArray();
                double median = (ascending[ascending.Length / 2 - 1] + ascending[ascending.Length / 2]) / 2;
                Assert.Equal(sorted[0], heads[h].TopMass, 12);
                Assert.Equal(sorted[0] + sorted[1] + sorted[2], heads[h].TopKMass, 12);
                Assert.Equal(sorted[0] / median, heads[h].MedianRatio, 9);
                Assert.Equal(sorted[0] * mass[h].Length, heads[h].MeanKeyRatio, 9);
            }
            double gu = EpsilonSinks.ModelLevel(new[] { m }, key: 0, epsilon: 0.3);
            Assert.Equal(mass.Count(row => row[0] > 0.3) / (double)mass.Length, gu, 12);
            var (share, key) = EpsilonSinks.SiteMaxShare(m, 0.3);
            using var tensor = torch.tensor(mass.SelectMany(r => r).ToArray(), new long[] { mass.Length, mass[0].Length }, dtype: ScalarType.Float64);
            var old = SinkDetector.Detect(tensor, TokenLayout.Video(grid), new SinkCriteria(), new AttentionSite("s", 0, AttentionKind.Self, "s"));
            return (Top: MaxHeadTopMassByDefinition(mass), Gu: gu, Share: share, Key: key, OldRatio: old.PeakRatio, Keys: mass[0].Length);
        }).ToArray();
        var (a, b) = (results[0], results[1]);
        Assert.Equal(0.5, a.Gu);
        Assert.Equal(a.Gu, b.Gu);
        Assert.Equal((0.5, 0), (a.Share, a.Key));
        Assert.Equal((a.Share, a.Key), (b.Share, b.Key));
        Assert.True(Math.Abs(a.Top - b.Top) < 0.005, $"top mass {a.Top} at {a.Keys} keys vs {b.Top} at {b.Keys} keys");
        Assert.InRange(a.Top, 0.45, 0.46);
        // The old ratio is top mass × key count: four times the keys, about four times the ratio.
        Assert.InRange(b.OldRatio / a.OldRatio, 3.8, 4.2);
    }

    [Fact]
    public void A_sink_spread_over_frame_0_is_invisible_per_key_but_its_set_mass_is_the_same_at_both_lengths()
    {
        TorchRuntime.Initialise();
        var results = new[] { 8, 16 }.Select(side =>
        {
            var (p, grid) = VideoMaps(side, new[] { 0.5, 0.5, 0.5, 0.5 }, g => Enumerable.Range(0, g.Height * g.Width).ToArray(), seed: 100 + side);
            var mass = PlantedMaps.ReceivedMass(p);
            var m = new HeadMassMatrix(mass);
            var frame0 = KeySet.Frame(TokenLayout.Video(grid), 0)!;
            Assert.Equal(Enumerable.Range(0, side * side), frame0.Keys);
            var set = SetMass.Of(m, frame0);
            var byDefinition = mass.Select(row => row.Take(side * side).Sum()).ToArray();
            Assert.Equal(byDefinition.Average(), set.MeanMass, 12);
            Assert.Equal(byDefinition.Max(), set.MaxMass, 12);
            Assert.Equal(1.0 / Frames, set.UniformShare, 12);
            return (Set: set, Share: EpsilonSinks.SiteMaxShare(m, 0.3).Share, Top: MaxHeadTopMassByDefinition(mass),
                OldRatio: HeadMassStatistics.Of(m, 1).Max(h => h.MeanKeyRatio));
        }).ToArray();
        var (a, b) = (results[0], results[1]);
        Assert.Equal(0, a.Share); // no single key above ε
        Assert.Equal(0, b.Share);
        Assert.True(a.OldRatio < 10 && b.OldRatio < 10, $"old ratios {a.OldRatio}, {b.OldRatio}: a per-key test sees nothing");
        // 0.5 planted + 0.5 × (1/4) of the random background ≈ 0.625, 2.5 × the uniform share, at both lengths.
        Assert.True(Math.Abs(a.Set.MeanMass - b.Set.MeanMass) < 0.005, $"frame-0 mass {a.Set.MeanMass} vs {b.Set.MeanMass}");
        Assert.InRange(a.Set.MeanMass, 0.62, 0.63);
        Assert.True(Math.Abs(a.Set.MeanOverUniform - b.Set.MeanOverUniform) < 0.02);
        Assert.True(b.Top < a.Top / 3, $"per-key top mass falls with length: {a.Top} vs {b.Top}");
    }

    [Fact]
    public void Identical_padding_keys_are_found_as_one_cluster_whose_mass_is_the_same_at_both_text_lengths()
    {
        TorchRuntime.Initialise();
        const int real = 6, heads = 4, dim = 8, queries = 300;
        var results = new[] { 16, 64 }.Select(textLength =>
        {
            var pads = Enumerable.Range(real, textLength - real).ToArray();
            // Keys: random for real tokens, one shared vector for every padding row (k_proj(0) after normalisation).
            var g = new Generator(7);
            var k = torch.randn(new long[] { 1, heads, textLength, dim }, dtype: ScalarType.Float64, generator: g);
            var pad = torch.randn(new long[] { 1, heads, 1, dim }, dtype: ScalarType.Float64, generator: g);
            k[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(real, textLength)] = pad.expand(1, heads, textLength - real, dim);
            var cluster = Assert.Single(KeyClusters.NearIdentical(k));
            Assert.Equal(pads, cluster);

            var p = PlantedMaps.Build(queries, textLength, new[] { 0.6, 0.6, 0.6, 0.6 }, pads, Enumerable.Range(0, real).ToArray(), seed: textLength);
            var mass = PlantedMaps.ReceivedMass(p);
            var m = new HeadMassMatrix(mass);
            var set = SetMass.Of(m, new KeySet("padding", cluster));
            Assert.Equal(mass.Select(row => pads.Sum(j => row[j])).Average(), set.MeanMass, 12);
            return (Set: set, Top: MaxHeadTopMassByDefinition(mass), OldRatio: HeadMassStatistics.Of(m, 1).Max(h => h.MeanKeyRatio));
        }).ToArray();
        var (a, b) = (results[0], results[1]);
        Assert.Equal(0.6, a.Set.MeanMass, 12);
        Assert.Equal(a.Set.MeanMass, b.Set.MeanMass, 12);
        Assert.Equal((16.0 - real) / 16, a.Set.UniformShare, 12);
        Assert.True(b.OldRatio / a.OldRatio > 2.5, $"old ratio {a.OldRatio} at 16 keys vs {b.OldRatio} at 64");
    }

    [Fact]
    public void Analysis_reports_per_step_spread_beside_the_aggregate_and_counts_distinct_top_sinks()
    {
        TorchRuntime.Initialise();
        // A sink that moves: at step 0 key 5 holds 0.8 of head 0, at step 1 key 9 does. The aggregate halves it.
        var grid = new VideoGrid(2, 4, 4);
        int n = (int)grid.Count;
        var site = new AttentionSite("blocks.0.attn1", 0, AttentionKind.Self, "s");
        var observations = new List<SinkObservation>();
        for (int run = 0; run < 3; run++)
            for (int step = 0; step < 2; step++)
            {
                var p = PlantedMaps.Build(n, n, new[] { 0.8, 0.0 }, new[] { step == 0 ? 5 : 9 }, null, seed: 10 * run + step);
                observations.Add(new SinkObservation(run, $"prompt {run}", 0, step, new HeadMassMatrix(PlantedMaps.ReceivedMass(p)),
                    new[] { Math.Log(n) / 2, Math.Log(n) }));
            }
        var result = SinkStatisticsAnalysis.Analyse(new[] { new SiteObservations(site, TokenLayout.Video(grid), observations) }, new SinkStatisticsOptions());
        var s = Assert.Single(result.Sites);
        Assert.True(s.PerStepTopMass.Median > 0.8, $"per-step top mass {s.PerStepTopMass.Median}");
        Assert.True(s.StrongestHead.TopMass < 0.5, $"aggregate top mass {s.StrongestHead.TopMass}");
        Assert.Equal(0.5, s.PerStepSiteMaxShare.Median, 12); // head 0 of the 2 heads is above ε at every step
        Assert.Equal(0.5, s.SiteMaxShare, 12); // 0.8 / 2 = 0.4 on each of keys 5 and 9 in the aggregate
        Assert.Equal(2, s.Identity.DistinctTopKeys);
        Assert.Equal(6, s.Identity.Observations);
        Assert.Equal(0.75, s.NormalisedEntropy.Value, 12);
        Assert.Equal(3, s.RunTopMass.N);
        Assert.Equal(observations.Count * 2, result.Rows.Count);
        var frame0 = Assert.Single(s.Sets);
        Assert.Equal("frame 0", frame0.Name);
    }

    [Fact]
    public void Causal_mass_is_the_mean_over_the_queries_that_see_the_key()
    {
        const int t = 12;
        var random = new Random(3);
        // Causal rows: query i attends keys 0..i.
        var p = new double[1][][] { new double[t][] };
        for (int i = 0; i < t; i++)
        {
            var w = Enumerable.Range(0, t).Select(k => k <= i ? Math.Exp(PlantedMaps.Gaussian(random)) : 0).ToArray();
            double z = w.Sum();
            p[0][i] = w.Select(x => x / z).ToArray();
        }
        var allQueries = new HeadMassMatrix(PlantedMaps.ReceivedMass(p));
        var causal = CausalMass.FromAllQueryMean(allQueries);
        for (int k = 0; k < t; k++)
        {
            double byDefinition = Enumerable.Range(k, t - k).Sum(i => p[0][i][k]) / (t - k);
            Assert.Equal(byDefinition, causal.Mass[0][k], 12);
        }
        Assert.Equal(allQueries.Mass[0][0], causal.Mass[0][0], 12);
        Assert.Equal(p[0][t - 1][t - 1], causal.Mass[0][t - 1], 12);
    }
}
