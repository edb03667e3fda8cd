namespace VDiTLens.Reports.Charts;

/// <summary>
/// One series of a <see cref="LineChart"/>: points (x, y) drawn as a line, markers or both (NaN y = gap). Colour
/// defaults to the series' place in the Okabe–Ito palette.
/// </summary>
public sealed record LineSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y)
{
    public string? Colour { get; init; }
    public bool Dashed { get; init; }
    public bool Lines { get; init; } = true;
    public bool Markers { get; init; } = true;
    /// <summary>Optional text per point, shown in its tooltip (and beside scatter markers).</summary>
    public IReadOnlyList<string>? PointLabels { get; init; }
    /// <summary>Optional interval per point (a confidence band): drawn as a shaded area, given in each tooltip.</summary>
    public IReadOnlyList<double>? BandLow { get; init; }
    public IReadOnlyList<double>? BandHigh { get; init; }
}

public sealed record LineChartSpec
{
    public required IReadOnlyList<LineSeries> Series { get; init; }
    public string? Title { get; init; }
    /// <summary>Axis titles, with units in brackets where there is one.</summary>
    public required string XTitle { get; init; }
    public required string YTitle { get; init; }
    public double? XMin { get; init; }
    public double? XMax { get; init; }
    public double? YMin { get; init; }
    public double? YMax { get; init; }
    /// <summary>Ticks on whole numbers only (layers, steps).</summary>
    public bool IntegerX { get; init; }
    public double Width { get; init; } = 560;
    public double Height { get; init; } = 300;
}

/// <summary>
/// Line and scatter charts as SVG: nice ticks on both axes, light grid lines, axis titles, a legend on the right,
/// a tooltip on every marker (series, x, y and the interval where the series has a band), shaded confidence bands.
/// </summary>
public static class LineChart
{
    public static SvgChart Render(LineChartSpec spec)
    {
        if (spec.Series.Count == 0) throw new VDiTLensException($"line chart '{spec.Title}' has no series");
        foreach (var s in spec.Series)
        {
            if (s.X.Count != s.Y.Count) throw new VDiTLensException($"line chart '{spec.Title}': series '{s.Name}' has {s.X.Count} x and {s.Y.Count} y values");
            if ((s.BandLow is null) != (s.BandHigh is null) || (s.BandLow is { } bl && bl.Count != s.X.Count) || (s.BandHigh is { } bh && bh.Count != s.X.Count))
                throw new VDiTLensException($"line chart '{spec.Title}': series '{s.Name}' needs both BandLow and BandHigh, one value per point");
        }
        var xs = spec.Series.SelectMany(s => s.X).Where(double.IsFinite).DefaultIfEmpty(0).ToArray();
        var ys = spec.Series.SelectMany(s => s.Y.Concat(s.BandLow ?? []).Concat(s.BandHigh ?? [])).Where(double.IsFinite).DefaultIfEmpty(0).ToArray();
        var xScale = NiceScale.For(spec.XMin ?? xs.Min(), spec.XMax ?? xs.Max(), 7);
        if (spec.IntegerX && xScale.Step < 1) xScale = xScale with { Step = 1 };
        if (spec.XMin is { } xm) xScale = xScale with { Min = xm };
        if (spec.XMax is { } xM) xScale = xScale with { Max = xM };
        var yScale = NiceScale.For(spec.YMin ?? ys.Min(), spec.YMax ?? ys.Max(), 6);
        if (spec.YMin is { } ym) yScale = yScale with { Min = ym };
        if (spec.YMax is { } yM) yScale = yScale with { Max = yM };

        double yLabelWidth = yScale.Ticks.Max(t => SvgCanvas.TextWidth(yScale.Label(t)));
        double legendWidth = spec.Series.Max(s => SvgCanvas.TextWidth(s.Name)) + 34;
        double top = 10 + (spec.Title is null ? 0 : 20), left = 8 + 18 + yLabelWidth + 6;
        double right = spec.Width - legendWidth - 12, bottom = Math.Max(spec.Height - 40, top + SvgCanvas.TextWidth(spec.YTitle) + 10);
        double X(double v) => left + (v - xScale.Min) / (xScale.Max - xScale.Min) * (right - left);
        double Y(double v) => bottom - (Math.Clamp(v, yScale.Min, yScale.Max) - yScale.Min) / (yScale.Max - yScale.Min) * (bottom - top);

        var svg = new SvgCanvas { Width = spec.Width, Height = bottom + 40 };
        if (spec.Title is not null) svg.Text(8, 20, spec.Title, weight: "bold", size: 12.5);
        foreach (double t in yScale.Ticks)
        {
            svg.Line(left, Y(t), right, Y(t), "#e6e6e6");
            svg.Line(left - 3, Y(t), left, Y(t), "#555", 0.8);
            svg.Text(left - 6, Y(t), yScale.Label(t), "end", centreV: true);
        }
        foreach (double t in xScale.Ticks)
        {
            svg.Line(X(t), top, X(t), bottom, "#f0f0f0");
            svg.Line(X(t), bottom, X(t), bottom + 3, "#555", 0.8);
            svg.Text(X(t), bottom + 15, xScale.Label(t), "middle");
        }
        svg.Rect(left, top, right - left, bottom - top, "none", "#555", attributes: "stroke-width=\"0.8\"");
        svg.Text((left + right) / 2, svg.Height - 8, spec.XTitle, "middle", weight: "600");
        svg.Text(14, (top + bottom) / 2, spec.YTitle, "middle", rotate: -90, weight: "600", centreV: true);

        for (int i = 0; i < spec.Series.Count; i++)
        {
            var s = spec.Series[i];
            string colour = s.Colour ?? Colormap.Series[i % Colormap.Series.Length];
            string? dash = s.Dashed ? "5 3" : null;
            if (s.BandLow is { } low && s.BandHigh is { } high)
            {
                var upper = new List<(double, double)>();
                var lower = new List<(double, double)>();
                for (int j = 0; j <= s.X.Count; j++)
                {
                    if (j < s.X.Count && double.IsFinite(s.X[j]) && double.IsFinite(low[j]) && double.IsFinite(high[j]))
                    {
                        upper.Add((X(s.X[j]), Y(high[j])));
                        lower.Add((X(s.X[j]), Y(low[j])));
                        continue;
                    }
                    if (upper.Count > 1) svg.Polygon(upper.Concat(Enumerable.Reverse(lower)), colour, 0.18);
                    upper.Clear();
                    lower.Clear();
                }
            }
            if (s.Lines)
            {
                var run = new List<(double, double)>();
                for (int j = 0; j <= s.X.Count; j++)
                {
                    if (j < s.X.Count && double.IsFinite(s.X[j]) && double.IsFinite(s.Y[j])) { run.Add((X(s.X[j]), Y(s.Y[j]))); continue; }
                    if (run.Count > 1) svg.Polyline(run, colour, 1.8, dash);
                    run.Clear();
                }
            }
            if (s.Markers)
                for (int j = 0; j < s.X.Count; j++)
                {
                    if (!double.IsFinite(s.X[j]) || !double.IsFinite(s.Y[j])) continue;
                    string label = s.PointLabels is { } pl ? pl[j] + ": " : "";
                    string band = s.BandLow is { } bl && s.BandHigh is { } bh ? $" [{NiceScale.Value(bl[j])}, {NiceScale.Value(bh[j])}]" : "";
                    svg.Circle(X(s.X[j]), Y(s.Y[j]), s.Lines ? 2.8 : 4, s.Dashed ? "#ffffff" : colour, colour,
                        $"{s.Name} — {label}{spec.XTitle} {NiceScale.Value(s.X[j])}, {spec.YTitle} {NiceScale.Value(s.Y[j])}{band}");
                    if (!s.Lines && s.PointLabels is { } labels) svg.Text(X(s.X[j]) + 6, Y(s.Y[j]) - 5, labels[j], size: 9.5, fill: "#444");
                }
            // Legend entry: a line (and marker) sample and the name.
            double ly = top + 8 + i * 17, lx = right + 14;
            if (s.Lines) svg.Line(lx, ly, lx + 22, ly, colour, 1.8, dash);
            if (s.Markers) svg.Circle(lx + 11, ly, s.Lines ? 2.8 : 4, s.Dashed ? "#ffffff" : colour, colour);
            svg.Text(lx + 28, ly, s.Name, centreV: true);
        }
        return new SvgChart(svg, spec.Title ?? spec.YTitle);
    }
}
