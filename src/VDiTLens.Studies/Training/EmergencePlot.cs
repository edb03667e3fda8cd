using System.Globalization;
using VDiTLens.Reports.Charts;

namespace VDiTLens.Training;

/// <summary>
/// The emergence curve as SVG (<see cref="EmergenceCurve"/> says which metrics): per layer, the sink share divided by
/// its uniform value (1 = no preference, drawn dashed) against training steps, with its 95 % interval as a band; for
/// the language model Sink^ε per layer and for the model, with bands; the task accuracy on a chart below. Every
/// marker's tooltip holds its value (and interval).
/// </summary>
public static class EmergencePlot
{
    public const string FileName = "emergence.svg";

    /// <summary>Writes the plot of <paramref name="points"/>; nothing when they hold no known share metric.</summary>
    public static void Write(string path, IReadOnlyList<EmergencePoint> points)
    {
        if (Render(points) is { } svg) File.WriteAllText(path, svg);
    }

    /// <summary>Re-plots an <c>emergence.csv</c> into the <c>emergence.svg</c> beside it; returns that path.</summary>
    public static string Replot(string csvPath)
    {
        var points = EmergenceRecorder.Read(csvPath);
        string path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(csvPath))!, FileName);
        if (Render(points) is not { } svg)
            throw new VDiTLensException($"{csvPath}: no first_frame_share or first_token_share rows to plot; pass an emergence.csv written by a trainer");
        File.WriteAllText(path, svg);
        return path;
    }

    /// <summary>The SVG document, or null when the rows hold no known share metric.</summary>
    public static string? Render(IReadOnlyList<EmergencePoint> points)
    {
        if (EmergenceCurve.Of(points) is not { } curve) return null;
        var charts = new List<string> { ShareChart(points, curve) };
        if (curve.SinkEpsilon && EpsilonChart(points) is { } epsilon) charts.Add(epsilon);
        var accuracy = points.Where(p => curve.AccuracyMetrics.Contains(p.Metric)).GroupBy(p => p.Metric).Select(g =>
            Series(g.Key.Replace('_', ' '), g.ToList())).ToList();
        if (accuracy.Count > 0)
            charts.Add(LineChart.Render(new LineChartSpec
            {
                Series = accuracy, Title = curve.AccuracyTitle, XTitle = "training step", YTitle = curve.AccuracyYTitle,
                IntegerX = true, YMin = 0, YMax = 1,
            }).File);
        return Stack(charts);
    }

    private static string ShareChart(IReadOnlyList<EmergencePoint> points, EmergenceCurve curve)
    {
        var uniform = points.Where(p => p.Metric == curve.UniformMetric).ToDictionary(p => (p.Step, p.Layer), p => p.Value);
        var groups = points.Where(p => p.Metric == curve.ShareMetric).GroupBy(p => p.Layer).OrderBy(g => g.Key).ToList();
        var series = groups.Select((g, i) =>
            Series($"layer {g.Key}", g.ToList(), points, p => uniform[(p.Step, p.Layer)]) with { Colour = LayerColour(i, groups.Count) }).ToList();
        var steps = series.SelectMany(s => s.X).Distinct().Order().ToList();
        series.Add(new LineSeries(curve.Uniform, steps, steps.Select(_ => 1.0).ToList()) { Colour = "#888888", Dashed = true, Markers = false });
        var values = uniform.Values.ToList();
        string stated = values.Max() - values.Min() <= 1e-9 * values.Max()
            ? values[0].ToString("G3", CultureInfo.InvariantCulture)
            : $"{values.Min().ToString("G3", CultureInfo.InvariantCulture)}–{values.Max().ToString("G3", CultureInfo.InvariantCulture)}";
        return LineChart.Render(new LineChartSpec
        {
            Series = series, Title = $"{Capitalise(curve.Subject)} ÷ {curve.Uniform} ({stated}), per layer", XTitle = "training step",
            YTitle = $"{curve.Subject} ÷ {curve.Uniform}", IntegerX = true, YMin = 0,
        }).File;
    }

    private static string? EpsilonChart(IReadOnlyList<EmergencePoint> points)
    {
        var groups = points.Where(p => p.Metric == "epsilon_share").GroupBy(p => p.Layer).OrderBy(g => g.Key).ToList();
        var layers = groups.Select((g, i) => Series($"layer {g.Key}", g.ToList(), points) with { Colour = LayerColour(i, groups.Count) }).ToList();
        var model = points.Where(p => p.Metric == "sink_epsilon").ToList();
        if (model.Count > 0) layers.Add(Series("model", model, points) with { Colour = "#d55e00" });
        if (layers.Count == 0) return null;
        return LineChart.Render(new LineChartSpec
        {
            Series = layers, Title = "Sink^ε of the first token (share of heads above ε)", XTitle = "training step", YTitle = "Sink^ε",
            IntegerX = true, YMin = 0, YMax = 1,
        }).File;
    }

    /// <summary>
    /// A metric against steps, divided by <paramref name="divisor"/> of its row, with the band of its <c>_low</c>/<c>_high</c>
    /// rows from <paramref name="all"/> when recorded.
    /// </summary>
    private static LineSeries Series(string name, List<EmergencePoint> rows, IReadOnlyList<EmergencePoint>? all = null, Func<EmergencePoint, double>? divisor = null)
    {
        var ordered = rows.OrderBy(p => p.Step).ToList();
        double D(EmergencePoint p) => divisor?.Invoke(p) ?? 1;
        var series = new LineSeries(name, ordered.Select(p => (double)p.Step).ToList(), ordered.Select(p => p.Value / D(p)).ToList());
        if (all is null) return series;
        var bounds = all.Where(p => p.Metric == ordered[0].Metric + "_low" || p.Metric == ordered[0].Metric + "_high")
            .ToDictionary(p => (p.Step, p.Layer, p.Metric), p => p.Value);
        if (bounds.Count == 0) return series;
        double Bound(EmergencePoint p, string suffix) => bounds.TryGetValue((p.Step, p.Layer, p.Metric + suffix), out var v) ? v / D(p) : double.NaN;
        return series with { BandLow = ordered.Select(p => Bound(p, "_low")).ToList(), BandHigh = ordered.Select(p => Bound(p, "_high")).ToList() };
    }

    /// <summary>Layers from dark to light along viridis, stopping short of its palest yellow.</summary>
    private static string LayerColour(int i, int count) => Colormap.Hex(Colormap.Viridis(count == 1 ? 0 : 0.85 * i / (count - 1)));

    private static string Capitalise(string s) => char.ToUpperInvariant(s[0]) + s[1..];

    /// <summary>Standalone SVG documents stacked in one (nested svg elements).</summary>
    private static string Stack(IReadOnlyList<string> charts)
    {
        if (charts.Count == 1) return charts[0];
        var sizes = charts.Select(Size).ToList();
        var sb = new System.Text.StringBuilder($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{SvgCanvas.N(sizes.Max(s => s.W))}\" height=\"{SvgCanvas.N(sizes.Sum(s => s.H))}\">\n");
        double y = 0;
        for (int i = 0; i < charts.Count; i++)
        {
            sb.Append($"<svg y=\"{SvgCanvas.N(y)}\"{Body(charts[i])}</svg>\n");
            y += sizes[i].H;
        }
        return sb.Append("</svg>\n").ToString();
    }

    private static (double W, double H) Size(string svg)
    {
        double Attr(string name)
        {
            int i = svg.IndexOf($" {name}=\"", StringComparison.Ordinal) + name.Length + 3;
            return double.Parse(svg[i..svg.IndexOf('"', i)], CultureInfo.InvariantCulture);
        }
        return (Attr("width"), Attr("height"));
    }

    /// <summary>The root element's attributes and content after its tag name (so it can be re-rooted as a nested svg).</summary>
    private static string Body(string svg)
    {
        int start = svg.IndexOf("<svg", StringComparison.Ordinal) + 4;
        int end = svg.LastIndexOf("</svg>", StringComparison.Ordinal);
        return svg[start..end];
    }
}
