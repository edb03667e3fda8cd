using TorchSharp;
using VDiTLens.Runtime;
using VDiTLens.Studies.Structure;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Studies.Structure;

public sealed class MapSimilarityTests
{
    [Fact]
    public void A_map_compared_with_itself_has_pearson_one_cosine_one_and_js_zero()
    {
        TorchRuntime.Initialise();
        using var raw = torch.rand(3, 5, 5, generator: new Generator(4));
        using var map = raw / raw.sum(-1, keepdim: true);
        var c = MapSimilarity.Compare(map, map);
        Assert.Equal((1.0, 1.0, 0.0), (c.Pearson, c.Cosine, c.JensenShannon));
    }

    [Fact]
    public void Hand_computed_pearson_and_cosine()
    {
        double[] a = { 1, 2, 3, 4 }, b = { 2, 1, 4, 3 };
        // deviations (−1.5, −0.5, 0.5, 1.5) and (−0.5, −1.5, 1.5, 0.5): 3 / √(5·5)
        Assert.Equal(0.6, MapSimilarity.Pearson(a, b), 14);
        // 28 / √(30·30)
        Assert.Equal(28.0 / 30.0, MapSimilarity.Cosine(a, b), 14);
        Assert.Equal(-1.0, MapSimilarity.Pearson(a, a.Select(v => -v).ToArray()), 14);
    }

    [Fact]
    public void Hand_computed_jensen_shannon_in_bits()
    {
        // disjoint rows: 1 bit
        Assert.Equal(1.0, MapSimilarity.MeanJensenShannon(new double[] { 1, 0 }, new double[] { 0, 1 }, 2), 14);
        // JS = H(m) − (H(p) + H(q)) / 2 with m = (0.75, 0.25), H(p) = 1, H(q) = 0
        double hm = -(0.75 * Math.Log2(0.75) + 0.25 * Math.Log2(0.25));
        Assert.Equal(hm - 0.5, MapSimilarity.MeanJensenShannon(new[] { 0.5, 0.5 }, new[] { 1.0, 0.0 }, 2), 14);
        // mean over rows, rows renormalised: row 1 identical up to scale (0), row 2 disjoint (1)
        Assert.Equal(0.5, MapSimilarity.MeanJensenShannon(new double[] { 1, 1, 2, 0 }, new double[] { 3, 3, 0, 5 }, 2), 14);
    }

    [Fact]
    public void Every_metric_is_symmetric()
    {
        TorchRuntime.Initialise();
        using var a = torch.rand(4, 6, generator: new Generator(8));
        using var b = torch.rand(4, 6, generator: new Generator(9));
        var ab = MapSimilarity.Compare(a, b);
        var ba = MapSimilarity.Compare(b, a);
        Assert.Equal(ab.Pearson, ba.Pearson, 14);
        Assert.Equal(ab.Cosine, ba.Cosine, 14);
        Assert.Equal(ab.JensenShannon, ba.JensenShannon, 14);
        Assert.InRange(ab.JensenShannon, 1e-4, 1.0);
    }

    [Fact]
    public void Constant_maps_that_differ_have_undefined_pearson_and_the_mean_skips_it()
    {
        Assert.True(double.IsNaN(MapSimilarity.Pearson(new double[] { 1, 1 }, new double[] { 1, 2 })));
        var mean = MapComparison.Mean(new[] { new MapComparison(double.NaN, 0.5, 0.1), new MapComparison(0.4, 0.7, 0.3) })!;
        Assert.Equal(0.4, mean.Pearson, 14);
        Assert.Equal(0.6, mean.Cosine, 14);
        Assert.Null(MapComparison.Mean(Array.Empty<MapComparison>()));
    }
}
