namespace VDiTLens.Reports.Charts;

public sealed record BarChartSpec
{
    public required IReadOnlyList<string> Categories { get; init; }
    public required IReadOnlyList<double> Values { get; init; }
    public string? Title { get; init; }
    public required string XTitle { get; init; }
    /// <summary>The value axis title, with its unit.</summary>
    public required string YTitle { get; init; }
    public string Colour { get; init; } = Colormap.Series[0];
    public double Height { get; init; } = 280;
}

/// <summary>
/// Vertical bars from zero as SVG: nice ticks and grid lines on the value axis, category labels (thinned when
/// crowded, slanted when long), axis titles, a tooltip per bar.
/// </summary>
public static class BarChart
{
    public static SvgChart Render(BarChartSpec spec)
    {
        int n = spec.Categories.Count;
        if (n == 0) throw new VDiTLensException($"bar chart '{spec.Title}' has no bars");
        if (spec.Values.Count != n) throw new VDiTLensException($"bar chart '{spec.Title}': {spec.Values.Count} values for {n} categories");
        var finite = spec.Values.Where(double.IsFinite).DefaultIfEmpty(0).ToArray();
        var scale = NiceScale.For(Math.Min(0, finite.Min()), Math.Max(0, finite.Max()), 6);
        double slot = Math.Max(Math.Clamp(440.0 / n, 3, 48), 240.0 / n), bar = Math.Min(slot * (n > 40 ? 0.9 : 0.72), 40);
        bool rotate = spec.Categories.Max(c => c.Length) > 4;
        double labelWidth = spec.Categories.Max(c => SvgCanvas.TextWidth(c));
        int step = HeatmapChart.ThinStep(slot, rotate ? SvgCanvas.FontSize + 2 : labelWidth + 6);
        double labelHeight = rotate ? labelWidth * 0.72 + 8 : SvgCanvas.FontSize + 4;
        double yLabelWidth = scale.Ticks.Max(t => SvgCanvas.TextWidth(scale.Label(t)));
        double top = 10 + (spec.Title is null ? 0 : 20), left = 8 + 18 + yLabelWidth + 6;
        double right = left + n * slot, bottom = top + Math.Max(spec.Height - 60, SvgCanvas.TextWidth(spec.YTitle) + 10);
        double Y(double v) => bottom - (v - scale.Min) / (scale.Max - scale.Min) * (bottom - top);

        var svg = new SvgCanvas
        {
            Width = Math.Max(right + 16, spec.Title is null ? 0 : SvgCanvas.TextWidth(spec.Title, 12.5) + 20), Height = bottom + 6 + labelHeight + 20,
        };
        if (spec.Title is not null) svg.Text(8, 20, spec.Title, weight: "bold", size: 12.5);
        foreach (double t in scale.Ticks)
        {
            svg.Line(left, Y(t), right, Y(t), t == 0 ? "#888" : "#e6e6e6");
            svg.Line(left - 3, Y(t), left, Y(t), "#555", 0.8);
            svg.Text(left - 6, Y(t), scale.Label(t), "end", centreV: true);
        }
        for (int i = 0; i < n; i++)
        {
            double v = spec.Values[i], x = left + i * slot + (slot - bar) / 2;
            if (double.IsFinite(v))
                svg.Rect(x, Math.Min(Y(v), Y(0)), bar, Math.Abs(Y(v) - Y(0)), spec.Colour,
                    title: $"{spec.XTitle} {spec.Categories[i]}: {spec.YTitle} {NiceScale.Value(v)}");
            if (i % step != 0) continue;
            double cx = left + (i + 0.5) * slot;
            svg.Line(cx, bottom, cx, bottom + 3, "#555", 0.8);
            if (rotate) svg.Text(cx + 3, bottom + 13, spec.Categories[i], "end", rotate: -40);
            else svg.Text(cx, bottom + 15, spec.Categories[i], "middle");
        }
        svg.Rect(left, top, right - left, bottom - top, "none", "#555", attributes: "stroke-width=\"0.8\"");
        svg.Text((left + right) / 2, svg.Height - 8, spec.XTitle, "middle", weight: "600");
        svg.Text(14, (top + bottom) / 2, spec.YTitle, "middle", rotate: -90, weight: "600", centreV: true);
        return new SvgChart(svg, spec.Title ?? spec.YTitle);
    }
}
