using System.Globalization;
using System.Text;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Reports;
using VDiTLens.Reports.Charts;
using static TorchSharp.torch;

namespace VDiTLens.Demo;

/// <summary>
/// The demo's per-layer figures, from the site-grouped probe results (conditional rows): entropy and coverage by
/// layer per prompt, entropy per layer × head, sink strength per layer, frame × frame maps and received mass per frame.
/// </summary>
public static class DemoCharts
{
    public const string ByLayerCsv = "data/attention_by_layer.csv";

    public static string Write(HtmlReport report, IReadOnlyDictionary<string, Tensor> r, IReadOnlyList<DemoLayer> layers, TokenLayout layout, IReadOnlyList<string> prompts)
    {
        using var scope = torch.NewDisposeScope();
        int p = prompts.Count;
        var x = layers.Select(l => (double)l.Layer).ToArray();
        var entropy = layers.Select(l => r[l.Site + ".entropy"].narrow(0, 0, p).to(ScalarType.Float64).cpu()).ToArray();              // [P, H] per layer
        var coverage = layers.Select(l => r[l.Site + ".coverage_fraction"].narrow(0, 0, p).select(2, 1).to(ScalarType.Float64).cpu()).ToArray();
        WriteCsv(report.Asset(ByLayerCsv), layers, entropy, coverage);
        var csv = new DataLink("CSV", ByLayerCsv);
        var probes = new DataLink("safetensors", "data/probes.safetensors");
        var html = new StringBuilder("<div>");

        LineSeries[] PerPrompt(Tensor[] perLayer) => Enumerable.Range(0, p).Select(b =>
            new LineSeries($"prompt {b + 1}", x, perLayer.Select(t => t[b].mean().item<double>()).ToArray())).ToArray();
        html.Append(report.Chart("demo/entropy_by_layer.svg", LineChart.Render(new LineChartSpec
        {
            Title = "Attention entropy by layer", XTitle = "layer", YTitle = "mean entropy per query (nats)", IntegerX = true,
            Series = PerPrompt(entropy), Width = 480, Height = 260,
        }), "head-averaged entropy of each query's attention; prompts numbered as in the table above", csv));
        html.Append(report.Chart("demo/coverage90_by_layer.svg", LineChart.Render(new LineChartSpec
        {
            Title = "Keys holding 90% of the mass", XTitle = "layer", YTitle = "fraction of keys", IntegerX = true, YMin = 0,
            Series = PerPrompt(coverage), Width = 480, Height = 260,
        }), "smallest share of keys holding 90% of a query's attention (small = sparse)", csv));
        html.Append("</div><div>");

        int heads = (int)entropy[0].shape[1];
        var byHead = torch.stack(entropy.Select(t => t.mean(new long[] { 0 })).ToArray()); // [layers, H]
        html.Append(report.Chart("demo/entropy_layer_head.svg", HeatmapChart.Render(new HeatmapSpec
        {
            Panels = new[] { HeatmapPanel.Of(null, byHead) }, Title = "Entropy per layer and head",
            RowTitle = "layer", ColumnTitle = "head", ValueTitle = "entropy (nats)", Min = byHead.min().item<double>(),
        }), "mean over prompts and denoising steps (conditional branch)", csv));
        html.Append(report.Chart("demo/top_key_share_by_layer.svg", BarChart.Render(new BarChartSpec
        {
            Title = "Strongest attention receiver per layer", XTitle = "layer", YTitle = "share of a query's attention",
            Categories = layers.Select(l => l.Layer.ToString(CultureInfo.InvariantCulture)).ToArray(), Values = layers.Select(l => l.TopShare).ToArray(),
        }), "mean share of a query's attention on the key receiving the most (head and prompt mean; comparable across sequence lengths, unlike a ratio to the mean key)", new DataLink("CSV", "data/layers.csv")));
        html.Append("</div>");

        var g = layout.Grid!;
        var frameLabels = Enumerable.Range(0, g.Frames).Select(f => f.ToString(CultureInfo.InvariantCulture)).ToArray();
        html.Append(report.Chart("demo/frame_maps.svg", HeatmapChart.Render(new HeatmapSpec
        {
            Panels = layers.Select(l => HeatmapPanel.Of(l.Site, r[l.Site + ".frame_map"].narrow(0, 0, p).mean(new long[] { 0, 1 }))).ToArray(),
            Title = "Frame × frame attention per layer", RowTitle = "query frame", ColumnTitle = "key frame", RowLabels = frameLabels, ColumnLabels = frameLabels,
            ValueTitle = "share of video-key mass", Min = 0, PanelsPerRow = 4,
        }), "mean over prompts, heads and steps; rows sum to 1", probes));
        foreach (var l in layers)
        {
            var mass = r[l.Site + ".received_mass"].narrow(0, 0, p).mean(new long[] { 0, 1 }).to(ScalarType.Float64).cpu();
            var video = mass.narrow(0, layout.VideoSegment!.Start, layout.VideoSegment.Length).reshape(g.Frames, g.Height, g.Width);
            html.Append(report.Chart($"demo/{l.Site}.received_mass.svg", HeatmapChart.Render(new HeatmapSpec
            {
                Panels = Enumerable.Range(0, g.Frames).Select(f => HeatmapPanel.Of($"frame {f}", video[f])).ToArray(),
                Title = $"{l.Site}: attention received per key", RowTitle = "patch row", ColumnTitle = "patch column",
                ValueTitle = "received mass", Min = 0, PanelsPerRow = Math.Min(g.Frames, 9), CellSize = Math.Clamp(88.0 / Math.Max(g.Height, g.Width), 2, 12),
            }), $"mean over queries, prompts, heads and steps; sinks are bright cells (top: {l.TopReceiver}, {l.TopShare:P2} of the attention)", probes));
        }
        return html.ToString();
    }

    private static void WriteCsv(string path, IReadOnlyList<DemoLayer> layers, Tensor[] entropy, Tensor[] coverage)
    {
        var sb = new StringBuilder("site,layer,prompt,head,entropy_nats,coverage90_fraction\n");
        for (int i = 0; i < layers.Count; i++)
            for (int b = 0; b < entropy[i].shape[0]; b++)
                for (int h = 0; h < entropy[i].shape[1]; h++)
                    sb.Append(string.Create(CultureInfo.InvariantCulture,
                        $"{layers[i].Site},{layers[i].Layer},{b + 1},{h},{entropy[i][b, h].item<double>():G6},{coverage[i][b, h].item<double>():G6}\n"));
        File.WriteAllText(path, sb.ToString());
    }
}
