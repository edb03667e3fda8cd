using VDiTLens.Reports;

namespace VDiTLens.Tests.Reports;

public sealed class LineChartTests
{
    private static (byte, byte, byte) Pixel(byte[] rgb, int width, int x, int y) => (rgb[(y * width + x) * 3], rgb[(y * width + x) * 3 + 1], rgb[(y * width + x) * 3 + 2]);

    [Fact]
    public void Markers_sit_at_their_values_and_lines_join_them()
    {
        const int w = 100, h = 60;
        var red = ((byte)200, (byte)0, (byte)0);
        var rgb = LineChart.Render(new double[] { 0, 1, 2 }, new[] { new LineSeries("s", new[] { 0.0, 1.0, 0.5 }, red) }, 0, 1, w, h);
        // corners of the plot area: (Margin, h − Margin − 1) for (0, 0), (w − Margin − 1, …) for x = 2
        Assert.Equal(red, Pixel(rgb, w, LineChart.Margin, h - LineChart.Margin - 1));
        Assert.Equal(red, Pixel(rgb, w, LineChart.Column(1, 0, 2, w), LineChart.Margin));
        Assert.Equal(red, Pixel(rgb, w, w - LineChart.Margin - 1, LineChart.Row(0.5, 0, 1, h)));
        // halfway between the first two points lies on the line
        int mx = (LineChart.Margin + LineChart.Column(1, 0, 2, w)) / 2, my = (h - LineChart.Margin - 1 + LineChart.Margin) / 2;
        Assert.Contains(red, Enumerable.Range(-1, 3).Select(d => Pixel(rgb, w, mx, my + d)));
        Assert.Equal(((byte)255, (byte)255, (byte)255), Pixel(rgb, w, 1, 1));
    }

    [Fact]
    public void A_nan_value_leaves_a_gap_and_bad_input_is_refused()
    {
        const int w = 100, h = 60;
        var blue = ((byte)0, (byte)0, (byte)200);
        var rgb = LineChart.Render(new double[] { 0, 1, 2 }, new[] { new LineSeries("s", new[] { 0.0, double.NaN, 0.0 }, blue) }, 0, 1, w, h);
        Assert.NotEqual(blue, Pixel(rgb, w, w / 2, h - LineChart.Margin - 1));
        Assert.Throws<ArgumentException>(() => LineChart.Render(new double[] { 0, 1 }, new[] { new LineSeries("s", new[] { 0.0 }, blue) }, 0, 1, w, h));
        Assert.Throws<ArgumentException>(() => LineChart.Render(new double[] { 0 }, Array.Empty<LineSeries>(), 1, 1, w, h));
    }
}
