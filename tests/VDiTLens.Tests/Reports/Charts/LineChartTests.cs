using VDiTLens.Reports.Charts;

namespace VDiTLens.Tests.Reports.Charts;

public sealed class LineChartTests
{
    private static SvgTestDocument Render(params LineSeries[] series) => new(LineChart.Render(new LineChartSpec
    {
        Series = series, XTitle = "layer", YTitle = "entropy (nats)", YMin = 0, YMax = 1, IntegerX = true,
    }));

    [Fact]
    public void Markers_sit_at_their_values_in_the_plot_frame()
    {
        var svg = Render(new LineSeries("s", new double[] { 0, 1, 2 }, new[] { 0.0, 1.0, 0.5 }));
        var (x, y, w, h) = svg.Frame();
        var low = svg.WithTitle("circle", "s — layer 0, entropy (nats) 0");
        var high = svg.WithTitle("circle", "s — layer 1, entropy (nats) 1");
        var mid = svg.WithTitle("circle", "s — layer 2, entropy (nats) 0.5");
        Assert.Equal(x, SvgTestDocument.D(low, "cx"), 1);
        Assert.Equal(y + h, SvgTestDocument.D(low, "cy"), 1);
        Assert.Equal(x + w / 2, SvgTestDocument.D(high, "cx"), 1);
        Assert.Equal(y, SvgTestDocument.D(high, "cy"), 1);
        Assert.Equal(x + w, SvgTestDocument.D(mid, "cx"), 1);
        Assert.Equal(y + h / 2, SvgTestDocument.D(mid, "cy"), 1);
        Assert.Single(svg.All("polyline"));
        foreach (var label in new[] { "layer", "entropy (nats)", "s", "0", "1", "2", "0.0", "0.2", "1.0" })
            Assert.Contains(label, svg.Texts);
    }

    [Fact]
    public void A_nan_value_leaves_a_gap_and_bad_input_is_refused()
    {
        var svg = Render(new LineSeries("s", new double[] { 0, 1, 2, 3 }, new[] { 0.0, double.NaN, 0.2, 0.3 }));
        Assert.Single(svg.All("polyline"));                       // only 2 → 3 is joined
        Assert.Equal(3 + 1, svg.All("circle").Count());           // three markers and the legend's
        Assert.Throws<VDiTLensException>(() => Render(new LineSeries("s", new double[] { 0, 1 }, new[] { 0.0 })));
        Assert.Throws<VDiTLensException>(() => Render());
    }

    [Fact]
    public void A_band_is_shaded_between_its_bounds_and_given_in_each_tooltip()
    {
        var svg = Render(new LineSeries("s", new double[] { 0, 2 }, new[] { 0.5, 0.5 }) { BandLow = new[] { 0.0, 0.25 }, BandHigh = new[] { 1.0, 0.75 } });
        var (x, y, w, h) = svg.Frame();
        var band = Assert.Single(svg.All("polygon"));
        var corners = ((string)band.Attribute("points")!).Split(' ').Select(p => p.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToArray();
        // Upper edge left to right (1 at x 0, 0.75 at x 2), then the lower edge back (0.25 at x 2, 0 at x 0).
        double[][] expected = { new[] { x, y }, new[] { x + w, y + h / 4 }, new[] { x + w, y + 3 * h / 4 }, new[] { x, y + h } };
        Assert.Equal(expected.Length, corners.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i][0], corners[i][0], 1);
            Assert.Equal(expected[i][1], corners[i][1], 1);
        }
        svg.WithTitle("circle", "s — layer 2, entropy (nats) 0.5 [0.25, 0.75]");
        Assert.Throws<VDiTLensException>(() => Render(new LineSeries("s", new double[] { 0, 1 }, new[] { 0.0, 1.0 }) { BandLow = new[] { 0.0, 1.0 } }));
    }
}
