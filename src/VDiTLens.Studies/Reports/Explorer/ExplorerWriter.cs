using System.Text;
using System.Text.Json;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Reports.Explorer;

/// <summary>What the explorer holds, for the report's "what was captured" line.</summary>
public sealed record ExplorerSummary(int Sites, int Steps, int Heads, int BatchRows, int Queries, int HeadRowSites, int JointSites,
    long DataScriptBytes, long SafetensorsBytes, int CrossSites = 0);

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

    /// <summary>Key of the head-averaged attention rows of the query grid on the video keys: [B, queries, frames, H', W'].</summary>
    public static string RowsKey(string site, int step) => $"{site}.step{step}.rows_grid_head_mean";

    /// <summary>Key of the per-head attention rows of the query grid on the video keys: [B, heads, queries, frames, H', W'].</summary>
    public static string HeadRowsKey(string site, int step) => $"{site}.step{step}.rows_grid";

    /// <summary>Key of the head-averaged attention rows of the query grid on the text keys (joint and cross-attention; image keys at a cross site of stream image): [B, queries, text keys].</summary>
    public static string TextRowsKey(string site, int step) => $"{site}.step{step}.rows_text_head_mean";

    /// <summary>Key of the per-head attention rows of the query grid on the text keys (joint and cross-attention): [B, heads, queries, text keys].</summary>
    public static string TextHeadRowsKey(string site, int step) => $"{site}.step{step}.rows_text";

    /// <summary>Key of the text keys' validity (joint and cross-attention): [B, text keys], 1 real, 0 padding.</summary>
    public static string TextValidKey(string site, int step) => $"{site}.step{step}.text_valid";

    /// <summary>Version of the data script's format (docs/reports.md).</summary>
    public const int Version = 3;

    public static (string Html, ExplorerSummary Summary) Write(HtmlReport report, ExplorerInput input)
    {
        using var scope = torch.NewDisposeScope();
        var g = input.Grid;
        var tiles = new TileGrouping(input.Options.TileSize).Tiles(g);
        var saved = new Dictionary<string, Tensor>();
        var siteData = new List<object>();
        int heads = 0, batch = 0;
        foreach (var site in input.Sites)
        {
            var stepData = new List<object>();
            foreach (int step in input.Steps)
            {
                string key = $"{site.Name}.step{step}";
                var entry = new Dictionary<string, object>();
                foreach (string map in site.VideoKeys ? Maps : Array.Empty<string>())
                {
                    var m = Captured(input, $"{key}.{map}", step, site.Name);
                    (batch, heads) = ((int)m.shape[0], (int)m.shape[1]);
                    saved[$"{key}.{map}"] = m;
                    entry[map] = Quantise(m, m.shape.Skip(2).Aggregate(1L, (a, b) => a * b));
                }
                if (site.VideoKeys)
                {
                    var rows = Captured(input, $"{key}.rows_grid", step, site.Name); // [B, H, Q, F, H', W']
                    Add(saved, entry, "rows", RowsKey(site.Name, step), rows.mean(new long[] { 1 }), g.Count);
                    if (site.HeadRows) Add(saved, entry, "rowsHeads", HeadRowsKey(site.Name, step), rows, g.Count);
                }
                if (site.TextKeys > 0)
                {
                    var text = Captured(input, $"{key}.rows_text", step, site.Name); // [B, H, Q, T]
                    (batch, heads) = ((int)text.shape[0], (int)text.shape[1]);
                    Add(saved, entry, "text", TextRowsKey(site.Name, step), text.mean(new long[] { 1 }), site.TextKeys);
                    if (site.HeadRows) Add(saved, entry, "textHeads", TextHeadRowsKey(site.Name, step), text, site.TextKeys);
                    var valid = Captured(input, $"{key}.text_valid", step, site.Name);
                    saved[TextValidKey(site.Name, step)] = valid;
                    entry["textValid"] = Enumerable.Range(0, (int)valid.shape[0]).Select(b => valid[b].gt(0.5f).to(ScalarType.Int32).data<int>().ToArray()).ToArray();
                }
                stepData.Add(entry);
            }
            siteData.Add(stepData);
            saved[$"{site.Name}.row_queries"] = torch.tensor(site.Queries.ToArray());
        }
        var queries = input.Options.QueryCells(g);
        string safetensors = report.Asset(Safetensors);
        SafeTensorsWriter.Save(safetensors, saved);

        var (frameWidth, frameHeight, images) = Frames(input);
        var document = new
        {
            version = Version,
            prompts = input.Prompts,
            textTokens = input.TextTokens,
            padToken = VDiTLens.Text.TokenText.Padding,
            sites = input.Sites.Select(s => s.Name).ToArray(),
            siteInfo = input.Sites.Select(s => new
            {
                kind = s.Kind.ToString().ToLowerInvariant(), videoKeys = s.VideoKeys, imageKeys = s.ImageKeys, videoKeyStart = s.VideoKeyStart,
                textKeyStart = s.TextKeyStart, textKeys = s.TextKeys, headRows = s.HeadRows,
            }).ToArray(),
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

        var summary = new ExplorerSummary(input.Sites.Count, input.Steps.Count, heads, batch, queries.Count, input.Sites.Count(s => s.HeadRows),
            input.Sites.Count(s => s.VideoKeys && s.TextKeys > 0), Encoding.UTF8.GetByteCount(script), new FileInfo(safetensors).Length,
            input.Sites.Count(s => !s.VideoKeys));
        return (Html(input, summary), summary);
    }

    private static Tensor Captured(ExplorerInput input, string key, int step, string site) =>
        input.Results.TryGetValue(key, out var t) ? t.to(ScalarType.Float32).cpu().contiguous()
        : throw new VDiTLensException($"explorer: no '{key}' in the captured results (was step {step} run at site {site}?)");

    private static void Add(Dictionary<string, Tensor> saved, Dictionary<string, object> entry, string name, string key, Tensor values, long group)
    {
        var t = values.contiguous();
        saved[key] = t;
        entry[name] = Quantise(t, group);
    }

    private static object Quantise(Tensor t, long group) => Quantised.Of(t.data<float>().ToArray(), (int)group).ToJson();

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
          .Append("<p class=\"explorer-hint\">Click a frame to pick the nearest captured query (red cross); the overlay shows where it attends in every frame ")
          .Append("(in joint and cross-attention, the strip below the frames shows what it gives each text key, labelled with its token; cross-attention has no video keys to overlay). ")
          .Append("Rings mark the three keys receiving the most attention (sinks), with their mass as a multiple of the mean.</p>")
          .Append("<div id=\"explorer-frames\"></div><div id=\"explorer-readout\"></div><div id=\"explorer-overlay-scale\"></div><div id=\"explorer-text\"></div>")
          .Append("<div class=\"explorer-maps\"><div id=\"explorer-frame-map\"></div><div id=\"explorer-tile-map\"></div><div id=\"explorer-modality-map\"></div></div>")
          .Append("<div id=\"explorer-mass-maps\"></div></div>");
        sb.Append($"<p class=\"explorer-captured\">Captured: {s.Sites} sites × {s.Steps} denoising steps ({string.Join(", ", input.Steps)} of 0…{input.TotalSteps - 1}) × ")
          .Append($"{s.BatchRows} batch rows ({input.Prompts.Count} prompts × {s.BatchRows / Math.Max(1, input.Prompts.Count)} branches); maps per head ({s.Heads} heads), ")
          .Append($"attention rows of {s.Queries} video queries ({input.Options.Queries}×{input.Options.Queries} per frame) head-averaged")
          .Append(s.HeadRowSites == s.Sites ? " and per head" : s.HeadRowSites > 0 ? $" and, at {s.HeadRowSites} of the sites, per head" : "")
          .Append(s.JointSites > 0 ? $"; at the {s.JointSites} joint-attention sites also on the text keys" : "")
          .Append(s.CrossSites > 0 ? $"; at the {s.CrossSites} cross-attention sites on the text (or image) keys only, without maps. " : ". ")
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
