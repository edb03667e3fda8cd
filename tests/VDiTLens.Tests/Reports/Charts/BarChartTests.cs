using VDiTLens.Reports.Charts;

namespace VDiTLens.Tests.Reports.Charts;

public sealed class BarChartTests
{
    [Fact]
    public void Bars_rise_from_zero_in_proportion_to_their_values()
    {
        var svg = new SvgTestDocument(BarChart.Render(new BarChartSpec
        {
            Categories = new[] { "0", "1", "2" }, Values = new[] { 1.0, 2.0, 4.0 }, XTitle = "layer", YTitle = "sink mass",
        }));
        var bars = new[] { "1", "2", "4" }.Select((v, i) => svg.WithTitle("rect", $"layer {i}: sink mass {v}")).ToArray();
        double unit = SvgTestDocument.D(bars[0], "height");
        Assert.Equal(2 * unit, SvgTestDocument.D(bars[1], "height"), 1);
        Assert.Equal(4 * unit, SvgTestDocument.D(bars[2], "height"), 1);
        // All bars stand on the same baseline, the bottom of the plot frame (the axis starts at 0).
        var (_, y, _, h) = svg.Frame();
        Assert.All(bars, b => Assert.Equal(y + h, SvgTestDocument.D(b, "y") + SvgTestDocument.D(b, "height"), 1));
        Assert.Contains("sink mass", svg.Texts);
        Assert.Contains("layer", svg.Texts);
        Assert.Throws<VDiTLensException>(() => BarChart.Render(new BarChartSpec { Categories = new[] { "a" }, Values = new[] { 1.0, 2.0 }, XTitle = "x", YTitle = "y" }));
    }
}
