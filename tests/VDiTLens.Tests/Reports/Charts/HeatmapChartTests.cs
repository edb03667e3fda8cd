using VDiTLens.Reports.Charts;

namespace VDiTLens.Tests.Reports.Charts;

public sealed class HeatmapChartTests
{
    private static readonly double[,] Values = { { 0.0, 0.1, 0.2 }, { 0.4, double.NaN, 0.8 } };

    private static SvgChart Render(double[,] values, double? min = null) => HeatmapChart.Render(new HeatmapSpec
    {
        Panels = new[] { new HeatmapPanel(null, values) }, Title = "t", RowTitle = "query frame", ColumnTitle = "key frame",
        ValueTitle = "share (fraction)", Min = min,
    });

    [Fact]
    public void Each_cell_has_the_viridis_colour_of_its_value_and_a_tooltip_with_it()
    {
        var svg = new SvgTestDocument(Render(Values));
        // Range 0 … 0.8: 0.4 sits at t = 0.5, 0.8 at the top, 0.2 at t = 0.25.
        Assert.Equal("#21918c", (string?)svg.WithTitle("rect", "query frame 1, key frame 0: 0.4").Attribute("fill"));
        Assert.Equal("#fde725", (string?)svg.WithTitle("rect", "query frame 1, key frame 2: 0.8").Attribute("fill"));
        Assert.Equal(Colormap.Hex(Colormap.Viridis(0.25)), (string?)svg.WithTitle("rect", "query frame 0, key frame 2: 0.2").Attribute("fill"));
        Assert.Equal("#e8e8e8", (string?)svg.WithTitle("rect", "query frame 1, key frame 1: n/a").Attribute("fill"));
        // Cells run left to right by column and top to bottom by row.
        var a = svg.WithTitle("rect", "query frame 0, key frame 0: 0");
        var b = svg.WithTitle("rect", "query frame 1, key frame 2: 0.8");
        Assert.True(SvgTestDocument.D(b, "x") > SvgTestDocument.D(a, "x") && SvgTestDocument.D(b, "y") > SvgTestDocument.D(a, "y"));
    }

    [Fact]
    public void Axes_and_the_colour_bar_are_labelled_with_nice_ticks()
    {
        var texts = new SvgTestDocument(Render(Values)).Texts.ToList();
        foreach (var expected in new[] { "query frame", "key frame", "share (fraction)", "t", "0", "1", "2" })
            Assert.Contains(expected, texts);
        foreach (double tick in NiceScale.For(0, 0.8, 6, extend: false).Ticks)
            Assert.Contains(NiceScale.For(0, 0.8, 6, extend: false).Label(tick), texts);
        Assert.Contains("0.8", texts);
    }

    [Fact]
    public void Large_figures_become_one_pixel_image_per_panel_and_bad_input_is_refused()
    {
        var big = new double[100, 100];
        for (int i = 0; i < 100; i++) big[i, i] = 1;
        var svg = new SvgTestDocument(Render(big));
        Assert.Single(svg.All("image"));
        Assert.True(svg.All("rect").Count() < 100);
        Assert.Throws<VDiTLensException>(() => HeatmapChart.Render(new HeatmapSpec
        {
            Panels = new[] { new HeatmapPanel("a", new double[2, 2]), new HeatmapPanel("b", new double[2, 3]) },
            RowTitle = "r", ColumnTitle = "c", ValueTitle = "v",
        }));
        Assert.Throws<VDiTLensException>(() => HeatmapChart.Render(new HeatmapSpec
        {
            Panels = new[] { new HeatmapPanel(null, new double[2, 2]) }, RowLabels = new[] { "only one" }, RowTitle = "r", ColumnTitle = "c", ValueTitle = "v",
        }));
    }
}
