using System.Text;
using System.Text.Json;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Reports.Explorer;

/// <summary>What the explorer holds, for the report's "what was captured" line.</summary>
public sealed record ExplorerSummary(int Sites, int Steps, int Heads, int BatchRows, int Queries, long DataScriptBytes, long SafetensorsBytes);

/// <summary>
/// Writes the interactive attention explorer into a report: <c>explorer/explorer-data.js</c> (a script assigning
/// <c>window.VDITLENS_EXPLORER</c>, so the page works from file:// without fetch), the viewer script and style,
/// and <c>data/explorer.safetensors</c> with the captured tensors in float32. Returns the section HTML.
/// </summary>
public static class ExplorerWriter
{
    public const string DataScript = "explorer/explorer-data.js";
    public const string Safetensors = "data/explorer.safetensors";
    public static readonly string[] Maps = { "frame_map", "tile_map", "modality_map", "received_mass" };

    /// <summary>Key of the head-averaged attention rows of the query grid: [B, queries, frames, H', W'].</summary>
    public static string RowsKey(string site, int step) => $"{site}.step{step}.rows_grid_head_mean";

    public static (string Html, ExplorerSummary Summary) Write(HtmlReport report, ExplorerInput input)
    {
        using var scope = torch.NewDisposeScope();
        var g = input.Grid;
        var tiles = new TileGrouping(input.Options.TileSize).Tiles(g);
        var saved = new Dictionary<string, Tensor>();
        var siteData = new List<object>();
        int heads = 0, batch = 0;
        foreach (string site in input.Sites)
        {
            var stepData = new List<object>();
            foreach (int step in input.Steps)
            {
                string key = $"{site}.step{step}";
                var entry = new Dictionary<string, object>();
                foreach (string map in Maps)
                {
                    if (!input.Results.TryGetValue($"{key}.{map}", out var t))
                        throw new VDiTLensException($"explorer: no '{key}.{map}' in the captured results (was step {step} run at site {site}?)");
                    var m = t.to(ScalarType.Float32).cpu().contiguous();
                    (batch, heads) = ((int)m.shape[0], (int)m.shape[1]);
                    saved[$"{key}.{map}"] = m;
                    long group = m.shape.Skip(2).Aggregate(1L, (a, b) => a * b);
                    entry[map] = Quantised.Of(m.data<float>().ToArray(), (int)group).ToJson();
                }
                if (!input.Results.TryGetValue($"{key}.rows_grid", out var rows))
                    throw new VDiTLensException($"explorer: no '{key}.rows_grid' in the captured results");
                var mean = rows.to(ScalarType.Float32).cpu().mean(new long[] { 1 }).contiguous(); // [B, Q, F, H', W']
                saved[RowsKey(site, step)] = mean;
                entry["rows"] = Quantised.Of(mean.data<float>().ToArray(), g.Frames * g.Height * g.Width).ToJson();
                stepData.Add(entry);
            }
            siteData.Add(stepData);
        }
        var queries = input.Options.QueryCells(g);
        saved["row_queries"] = torch.tensor(input.Queries.ToArray());
        string safetensors = report.Asset(Safetensors);
        SafeTensorsWriter.Save(safetensors, saved);

        var (frameWidth, frameHeight, images) = Frames(input);
        var document = new
        {
            version = 1,
            prompts = input.Prompts,
            sites = input.Sites,
            steps = input.Steps,
            totalSteps = input.TotalSteps,
            heads,
            batchRows = input.BatchRows.Select(r => new { prompt = r.Prompt, branch = r.Branch }).ToArray(),
            grid = new { frames = g.Frames, height = g.Height, width = g.Width },
            tiles = new { size = input.Options.TileSize, rows = tiles.Rows, cols = tiles.Cols },
            queries = queries.Select(q => new[] { q.Frame, q.Y, q.X }).ToArray(),
            video = new { width = frameWidth, height = frameHeight, images },
            files = new { safetensors = Safetensors, probes = "data/probes.safetensors" },
            data = siteData,
        };
        string script = "window.VDITLENS_EXPLORER = " + JsonSerializer.Serialize(document) + ";\n";
        File.WriteAllText(report.Asset(DataScript), script);
        foreach (var asset in new[] { "explorer.js", "explorer.css" })
            File.WriteAllText(report.Asset("explorer/" + asset), Resource(asset));

        var summary = new ExplorerSummary(input.Sites.Count, input.Steps.Count, heads, batch, queries.Count,
            Encoding.UTF8.GetByteCount(script), new FileInfo(safetensors).Length);
        return (Html(input, summary), summary);
    }

    /// <summary>One picture per grid frame and prompt (the pixel frame at the same relative time), downscaled to the width limit; base64 RGB.</summary>
    private static (int Width, int Height, string[][] Images) Frames(ExplorerInput input)
    {
        var video = input.Video.detach().cpu().to(ScalarType.Float32); // [B, F, H, W, 3]
        long pixelFrames = video.shape[1], height = video.shape[2], width = video.shape[3];
        int factor = (int)Math.Max(1, (width + input.Options.MaxFrameWidth - 1) / input.Options.MaxFrameWidth);
        int outH = (int)(height / factor), outW = (int)(width / factor);
        var images = new string[video.shape[0]][];
        for (int b = 0; b < video.shape[0]; b++)
        {
            images[b] = new string[input.Grid.Frames];
            for (int f = 0; f < input.Grid.Frames; f++)
            {
                long source = input.Grid.Frames == 1 ? 0 : (long)Math.Round(f * (pixelFrames - 1) / (double)(input.Grid.Frames - 1));
                var frame = video[b, source].narrow(0, 0, outH * factor).narrow(1, 0, outW * factor)
                    .reshape(outH, factor, outW, factor, 3).mean(new long[] { 1, 3 });
                var bytes = (frame.clamp(0, 1) * 255).round().to(ScalarType.Byte).contiguous().data<byte>().ToArray();
                images[b][f] = Convert.ToBase64String(bytes);
            }
        }
        return (outW, outH, images);
    }

    private static string Html(ExplorerInput input, ExplorerSummary s)
    {
        string Mb(long bytes) => (bytes / 1048576.0).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.Append("<link rel=\"stylesheet\" href=\"explorer/explorer.css\">");
        sb.Append("<div id=\"explorer\" class=\"explorer\"><div class=\"explorer-controls\">");
        foreach (var (id, label) in new[] { ("prompt", "prompt"), ("site", "layer"), ("head", "head"), ("step", "step"), ("branch", "branch") })
            sb.Append($"<label>{label} <select id=\"explorer-{id}\"></select></label>");
        sb.Append("<label>overlay <select id=\"explorer-overlay\"><option value=\"query\">attention of the query</option>")
          .Append("<option value=\"mass\">received mass</option><option value=\"none\">none</option></select></label>")
          .Append("<label><input type=\"checkbox\" id=\"explorer-sinks\" checked> sinks</label></div>")
          .Append("<p class=\"explorer-hint\">Click a frame to pick the nearest captured query (red cross); the overlay shows where it attends in every frame. ")
          .Append("Rings mark the three keys receiving the most attention (sinks), with their mass as a multiple of the mean.</p>")
          .Append("<div id=\"explorer-frames\"></div><div id=\"explorer-readout\"></div><div id=\"explorer-overlay-scale\"></div>")
          .Append("<div class=\"explorer-maps\"><div id=\"explorer-frame-map\"></div><div id=\"explorer-tile-map\"></div><div id=\"explorer-modality-map\"></div></div>")
          .Append("<div id=\"explorer-mass-maps\"></div></div>");
        sb.Append($"<p class=\"explorer-captured\">Captured: {s.Sites} sites × {s.Steps} denoising steps ({string.Join(", ", input.Steps)} of 0…{input.TotalSteps - 1}) × ")
          .Append($"{s.BatchRows} batch rows ({input.Prompts.Count} prompts × {s.BatchRows / Math.Max(1, input.Prompts.Count)} branches); maps per head ({s.Heads} heads), ")
          .Append($"attention rows of {s.Queries} queries ({input.Options.Queries}×{input.Options.Queries} per frame) head-averaged. ")
          .Append($"Viewer data {Mb(s.DataScriptBytes)} MB (16-bit, within 1/131070 of each map's or row's maximum); exact float32 values: ")
          .Append($"<a href=\"{Safetensors}\">explorer.safetensors</a> ({Mb(s.SafetensorsBytes)} MB; keys in docs/reports.md), viewer data <a href=\"{DataScript}\">explorer-data.js</a>.</p>");
        sb.Append($"<script src=\"{DataScript}\"></script><script src=\"explorer/explorer.js\"></script>");
        return sb.ToString();
    }

    private static string Resource(string name)
    {
        using var stream = typeof(ExplorerWriter).Assembly.GetManifestResourceStream("VDiTLens.Reports.Explorer." + name)
            ?? throw new VDiTLensException($"explorer asset '{name}' is not embedded in the library (build problem)");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
