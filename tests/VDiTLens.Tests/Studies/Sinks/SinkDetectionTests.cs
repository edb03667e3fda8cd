using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using VDiTLens.Studies.Sinks;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Studies.Sinks;

public sealed class SinkDetectionTests
{
    private static readonly VideoGrid Grid = new(2, 4, 8);
    private static readonly AttentionSite Site = new("blocks.0.attn1", 0, AttentionKind.Self, "attn.0.self");

    private static SiteSinks Measure(double bias, long position, SinkCriteria criteria)
    {
        var seam = new AttentionSeam();
        var mass = new ReceivedMass();
        using var probe = seam.Attach(new AttentionMapProbe(new[] { mass }, grouping: ProbeGrouping.Step));
        using var planted = seam.Attach(new PlantedSink(position, bias));
        seam.State.Step = 0;
        var g = new Generator(5);
        var q = torch.randn(new long[] { 1, 4, Grid.Count, 8 }, generator: g);
        var k = torch.randn(new long[] { 1, 4, Grid.Count, 8 }, generator: g);
        var v = torch.randn(new long[] { 1, 4, Grid.Count, 8 }, generator: g);
        var layout = TokenLayout.Video(Grid);
        seam.Attend(Site, q, k, v, layout, layout).Dispose();
        var result = mass.Results().Single();
        Assert.Equal(new ProbeKey(new ProbeGroup("blocks.0.attn1", Step: 0), "received_mass"), result.Key);
        return SinkDetector.Detect(result.Value!, mass.Layouts[result.Key.Group], criteria, Site, 0);
    }

    [Fact]
    public void Planted_sink_is_found_at_its_position_in_every_head()
    {
        TorchRuntime.Initialise();
        var found = Measure(bias: 6, position: 37, new SinkCriteria(RatioThreshold: 10, Epsilon: 0.3));
        var token = Assert.Single(found.Tokens);
        Assert.Equal(37, token.Position);
        Assert.Equal("video(f=1, y=0, x=5)", token.Location);
        Assert.Equal(new[] { 0, 1, 2, 3 }, token.OutlierHeads);
        Assert.Equal(1.0, token.EpsilonShare); // e^6 / (e^6 + 63·~1.6) ≈ 0.8 of every head's attention
        Assert.All(found.Heads, h => Assert.Equal(37, h.PeakPosition));
        Assert.True(found.PeakRatio > 30, $"peak ratio {found.PeakRatio}");
        Assert.Equal(37, found.TopK[0]);
    }

    [Fact]
    public void Random_baseline_has_nothing_above_threshold()
    {
        TorchRuntime.Initialise();
        var found = Measure(bias: 0, position: 37, new SinkCriteria(RatioThreshold: 10, Epsilon: 0.3));
        Assert.Empty(found.Tokens);
        Assert.Equal(0, found.SinkMass);
        Assert.Equal(0, found.MaxEpsilonShare);
        Assert.True(found.PeakRatio < 10, $"peak ratio {found.PeakRatio}");
    }

    [Fact]
    public void Jaccard_of_top_sets()
    {
        Assert.Equal(0.5, SinkPersistence.Jaccard(new long[] { 1, 2, 3 }, new long[] { 2, 3, 4, 1, 9, 8 }));
        Assert.Equal(1.0, SinkPersistence.MeanPairwise(new IReadOnlyList<long>[] { new long[] { 4, 2 }, new long[] { 2, 4 } }));
        Assert.Equal((1.0 / 3 + 0 + 0) / 3, SinkPersistence.MeanPairwise(new IReadOnlyList<long>[] { new long[] { 1, 2 }, new long[] { 2, 3 }, new long[] { 7 } }), 12);
    }

    [Fact]
    public void Grid_map_puts_frames_side_by_side_with_gaps()
    {
        TorchRuntime.Initialise();
        var mass = torch.zeros(8 + Grid.Count, dtype: ScalarType.Float64);
        var layout = TokenLayout.Concat(null, TokenLayout.Text(8), TokenLayout.Video(Grid));
        mass[8 + 37] = torch.tensor(1.0, dtype: ScalarType.Float64); // frame 1, y 0, x 5
        using var m = SinkGridMap.Matrix(mass, layout)!;
        Assert.Equal(new long[] { 4, 17 }, m.shape);
        Assert.Equal(1.0, m[0, 9 + 5].item<double>());
        Assert.True(double.IsNaN(m[2, 8].item<double>()));
        Assert.Equal(1.0, m.nan_to_num(0).sum().item<double>());
        Assert.Null(SinkGridMap.Matrix(torch.zeros(8), TokenLayout.Text(8)));
    }
}
