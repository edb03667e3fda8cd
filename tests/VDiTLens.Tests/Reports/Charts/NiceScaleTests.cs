using VDiTLens.Reports.Charts;

namespace VDiTLens.Tests.Reports.Charts;

public sealed class NiceScaleTests
{
    [Theory]
    [InlineData(0, 1, 6, 0, 1, 0.2)]
    [InlineData(0.13, 0.87, 6, 0.1, 0.9, 0.1)]    // 0.74 / 5 = 0.148 → 0.1
    [InlineData(3, 97, 5, 0, 100, 20)]            // 94 / 4 = 23.5 → 20
    [InlineData(-0.3, 0.45, 4, -0.4, 0.6, 0.2)]   // 0.75 / 3 = 0.25 → 0.2
    public void Axes_end_on_ticks_at_1_2_5_multiples(double lo, double hi, int maxTicks, double min, double max, double step)
    {
        var s = NiceScale.For(lo, hi, maxTicks);
        Assert.Equal(step, s.Step, 12);
        Assert.Equal(min, s.Min, 12);
        Assert.Equal(max, s.Max, 12);
        Assert.Equal(Math.Round((max - min) / step) + 1, s.Ticks.Count);
        Assert.Equal(min, s.Ticks[0], 12);
        Assert.Equal(max, s.Ticks[^1], 12);
    }

    [Fact]
    public void A_colour_bar_scale_keeps_the_data_range_and_ticks_inside_it()
    {
        var s = NiceScale.For(0.013, 0.087, 5, extend: false);
        Assert.Equal((0.013, 0.087), (s.Min, s.Max));
        Assert.Equal(0.02, s.Step, 12);     // 0.074 / 4 = 0.0185 → 0.02
        Assert.Equal(new[] { 0.02, 0.04, 0.06, 0.08 }, s.Ticks.Select(t => Math.Round(t, 12)));
    }

    [Fact]
    public void Labels_have_the_decimals_of_the_step_and_degenerate_ranges_widen()
    {
        Assert.Equal("0.4", NiceScale.For(0, 1, 6).Label(0.4));
        Assert.Equal("40", NiceScale.For(3, 97, 5).Label(40));
        Assert.Equal("0.015", new NiceScale(0, 0.02, 0.005).Label(0.015));
        Assert.Equal("2e5", NiceScale.For(0, 400000, 3).Label(200000));
        var flat = NiceScale.For(5, 5);
        Assert.True(flat.Min < 5 && flat.Max > 5);
        Assert.Equal("1235", NiceScale.Value(1234.5678));
        Assert.Equal("n/a", NiceScale.Value(double.NaN));
    }
}
