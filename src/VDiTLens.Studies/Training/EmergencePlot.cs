using VDiTLens.Reports.Charts;

namespace VDiTLens.Training;

/// <summary>
/// The emergence curve as SVG: per self-attention layer, the mass the first frame receives divided by its uniform share
/// (1 = no preference; the sink signal of the constant-frame arm) against training steps, and the evaluator's
/// objects-correct share on a second chart below.
/// </summary>
public static class EmergencePlot
{
    public const string FileName = "emergence.svg";

    public static void Write(string path, IReadOnlyList<EmergencePoint> points)
    {
        var share = points.Where(p => p.Metric == "first_frame_share").ToList();
        var uniform = points.Where(p => p.Metric == "first_frame_uniform").ToDictionary(p => (p.Step, p.Layer), p => p.Value);
        var series = share.GroupBy(p => p.Layer).OrderBy(g => g.Key).Select((g, i) =>
        {
            var ordered = g.OrderBy(p => p.Step).ToList();
            return new LineSeries($"layer {g.Key}", ordered.Select(p => (double)p.Step).ToList(),
                ordered.Select(p => p.Value / uniform[(p.Step, p.Layer)]).ToList()) { Colour = Colormap.Hex(Colormap.Viridis(i / 11.0)) };
        }).ToList();
        var accuracy = points.Where(p => p.Metric is "objects_correct" or "objects_found").GroupBy(p => p.Metric).Select(g =>
        {
            var ordered = g.OrderBy(p => p.Step).ToList();
            return new LineSeries(g.Key.Replace('_', ' '), ordered.Select(p => (double)p.Step).ToList(), ordered.Select(p => p.Value).ToList());
        }).ToList();
        if (series.Count == 0) return;
        var top = LineChart.Render(new LineChartSpec
        {
            Series = series, Title = "First-frame attention mass ÷ uniform, per layer", XTitle = "training step",
            YTitle = "first-frame mass ÷ uniform", IntegerX = true, YMin = 0,
        });
        var bottom = accuracy.Count == 0 ? null : LineChart.Render(new LineChartSpec
        {
            Series = accuracy, Title = "Evaluator on sampled clips", XTitle = "training step", YTitle = "share of caption objects",
            IntegerX = true, YMin = 0, YMax = 1,
        });
        File.WriteAllText(path, Stack(top.File, bottom?.File));
    }

    /// <summary>Two standalone SVG documents stacked in one (nested svg elements).</summary>
    private static string Stack(string top, string? bottom)
    {
        if (bottom is null) return top;
        var (w1, h1) = Size(top);
        var (w2, h2) = Size(bottom);
        return $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Math.Max(w1, w2)}\" height=\"{h1 + h2}\">\n" +
               $"<svg y=\"0\"{Body(top)}</svg>\n<svg y=\"{h1}\"{Body(bottom)}</svg>\n</svg>\n";
    }

    private static (double W, double H) Size(string svg)
    {
        double Attr(string name)
        {
            int i = svg.IndexOf($" {name}=\"", StringComparison.Ordinal) + name.Length + 3;
            return double.Parse(svg[i..svg.IndexOf('"', i)], System.Globalization.CultureInfo.InvariantCulture);
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
