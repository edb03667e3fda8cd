using System.Globalization;
using System.Text;
using VDiTLens.Reports;

namespace VDiTLens.Studies.Maps;

/// <summary>
/// The head view as one SVG: a row of panels per metric, a column per drawn step and a last column with the change
/// from the first to the last drawn step; each panel is site (rows, forward order) × head (columns).
/// </summary>
public static class HeadViewPicture
{
    public static string Svg(IReadOnlyList<HeadViewRow> rows, IReadOnlyList<string> sites, IReadOnlyList<int> steps, double epsilon)
    {
        int heads = rows.Count == 0 ? 1 : rows.Max(r => r.Head) + 1;
        int cell = Math.Clamp(240 / Math.Max(heads, sites.Count), 3, 14);
        int panelW = heads * cell, panelH = sites.Count * cell, gap = 14, left = 120, top = 40;
        int columns = steps.Count + 1;
        int W = left + columns * (panelW + gap) + 20, H = top + Metrics.Length * (panelH + gap + 28) + 10;
        var byKey = rows.ToDictionary(r => (r.Site, r.Step, r.Head));
        string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        var s = new StringBuilder();
        s.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"10\">\n<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n");
        s.Append($"<text x=\"8\" y=\"16\" font-size=\"12\">rows: sites in forward order (first at top); columns: heads; sink mass = received mass of keys above ε = {F(epsilon)}; last column: last − first drawn step</text>\n");
        for (int mi = 0; mi < Metrics.Length; mi++)
        {
            var (name, value) = Metrics[mi];
            int y0 = top + mi * (panelH + gap + 28);
            var values = rows.Where(r => steps.Contains(r.Step)).Select(value).ToArray();
            double lo = values.DefaultIfEmpty(0).Min(), hi = values.DefaultIfEmpty(1).Max();
            s.Append($"<text x=\"8\" y=\"{y0 + 12}\" font-size=\"11\">{name}</text>\n<text x=\"8\" y=\"{y0 + 26}\">{F(lo)} … {F(hi)}</text>\n");
            for (int i = 0; i < sites.Count && mi == 0; i++)
                if (sites.Count <= 48 && (sites.Count <= 16 || i % 4 == 0))
                    s.Append($"<text x=\"{left - 4}\" y=\"{top + 14 + i * cell + cell - 1}\" text-anchor=\"end\" font-size=\"{Math.Min(10, cell + 2)}\">{Escape(sites[i])}</text>\n");
            for (int c = 0; c < columns; c++)
            {
                int x0 = left + c * (panelW + gap), py = y0 + 14;
                bool delta = c == steps.Count;
                s.Append($"<text x=\"{x0}\" y=\"{y0 + 10}\">{(delta ? $"Δ {steps[^1]}−{steps[0]}" : $"step {steps[c]}")}</text>\n");
                double dmax = delta ? sites.SelectMany(site => Enumerable.Range(0, heads).Select(h => Math.Abs(Delta(byKey, site, h, steps, value)))).DefaultIfEmpty(0).Max() : 0;
                for (int i = 0; i < sites.Count; i++)
                    for (int h = 0; h < heads; h++)
                    {
                        string fill;
                        if (delta)
                        {
                            double d = Delta(byKey, sites[i], h, steps, value);
                            fill = Diverging(dmax > 0 ? d / dmax : 0);
                        }
                        else if (byKey.TryGetValue((sites[i], steps[c], h), out var r))
                        {
                            var (R, G, B) = VDiTLens.Reports.Charts.Colormap.Viridis(hi > lo ? (value(r) - lo) / (hi - lo) : 0);
                            fill = $"rgb({R},{G},{B})";
                        }
                        else fill = "#ddd";
                        s.Append($"<rect x=\"{x0 + h * cell}\" y=\"{py + i * cell}\" width=\"{cell}\" height=\"{cell}\" fill=\"{fill}\"/>\n");
                    }
                s.Append($"<rect x=\"{x0}\" y=\"{py}\" width=\"{panelW}\" height=\"{panelH}\" fill=\"none\" stroke=\"#444\"/>\n");
                if (delta) s.Append($"<text x=\"{x0}\" y=\"{py + panelH + 11}\">±{F(dmax)}</text>\n");
            }
        }
        s.Append("</svg>\n");
        return s.ToString();
    }

    private static readonly (string Name, Func<HeadViewRow, double> Value)[] Metrics =
    {
        ("top-1 key mass", r => r.Top1Mass), ("sink mass", r => r.SinkMass), ("entropy / ln keys", r => r.NormalisedEntropy), ("coverage@0.9 (fraction of keys)", r => r.Coverage90),
    };

    private static double Delta(Dictionary<(string, int, int), HeadViewRow> byKey, string site, int head, IReadOnlyList<int> steps, Func<HeadViewRow, double> value) =>
        byKey.TryGetValue((site, steps[^1], head), out var last) && byKey.TryGetValue((site, steps[0], head), out var first) ? value(last) - value(first) : 0;

    /// <summary>Blue (−1) through white (0) to red (+1).</summary>
    private static string Diverging(double t)
    {
        t = Math.Clamp(t, -1, 1);
        int a = (int)(255 * (1 - Math.Abs(t)));
        return t >= 0 ? $"rgb(255,{a},{a})" : $"rgb({a},{a},255)";
    }

    private static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;");
}
