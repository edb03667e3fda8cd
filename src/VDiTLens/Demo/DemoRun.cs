using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.IO.Video;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using VDiTLens.Procedural;
using VDiTLens.Reports;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Demo;

/// <summary>One line of the demo's result table.</summary>
public sealed record DemoClip(string Prompt, string Judged, string Gif, bool Matches);

/// <summary>
/// The main job on the embedded model: generate a few prompts with attention probes attached, judge each clip with
/// the procedural evaluator, and write the report (videos, contact sheet, per-layer frame maps and sink maps,
/// entropy/coverage table, JSON/CSV data).
/// </summary>
public static class DemoRun
{
    public static IReadOnlyList<DemoClip> Run(DemoOptions o, ComputeOptions compute, IProgress<string>? log = null,
        IProgress<GenerationProgress>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        using var pipeline = WanPipeline.Load(o.Model, compute);
        var report = new HtmlReport(o.Out);
        var probeOptions = new ProbeOptions
        {
            Probes = new[] { "frame", "modality", "mass", "entropy", "rows" },
            Filter = new AttentionSelector { Sites = new[] { "self" }, Branches = new[] { "cond" } },
        };
        Tensor video;
        ProbeResults results;
        using (var probes = new ProbeSet(pipeline.Seam, probeOptions))
        {
            log?.Report($"generating {o.Prompts.Count} prompts, {o.Steps} steps, guidance {o.Guidance}");
            video = pipeline.Generate(new GenerationRequest
            {
                Prompts = o.Prompts, Steps = o.Steps, GuidanceScale = o.Guidance, Seed = compute.Seed,
                Frames = o.Frames, Height = o.Height, Width = o.Width, MaxSequenceLength = o.MaxSequenceLength,
                Progress = progress,
            });
            results = probes.Results();
            SafeTensorsWriter.Save(report.Asset("data/probes.safetensors"), results.ByPrintedKey());
        }

        log?.Report("judging clips and writing the report");
        var clips = WriteClips(report, o, video);
        var layers = WriteAttention(report, pipeline, results, o);
        results.Dispose();
        File.WriteAllText(report.Asset("data/demo.json"), JsonSerializer.Serialize(new { prompts = o.Prompts, clips, layers, seconds = clock.Elapsed.TotalSeconds }, new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllLines(report.Asset("data/layers.csv"), new[] { "site,entropy,coverage90_fraction,top_receiver,top_ratio" }
            .Concat(layers.Select(l => $"{l.Site},{l.Entropy:F4},{l.Coverage90:F4},\"{l.TopReceiver}\",{l.TopRatio:F2}")));

        var body = new System.Text.StringBuilder();
        body.Append($"<p>Model <code>{HtmlReport.Escape(o.Model)}</code>, {o.Steps} steps, guidance {o.Guidance}, seed {compute.Seed}, {ComputeOptions.NameOf(compute.DType)} on {HtmlReport.Escape(compute.Device.ToString())}; {clock.Elapsed.TotalSeconds:F1} s.</p>");
        body.Append("<h3>Generated clips</h3>");
        foreach (var c in clips) body.Append(HtmlReport.Figure(c.Gif, c.Prompt, 160));
        body.Append(HtmlReport.Figure("demo/contact_sheet.png", "all frames, one row per prompt"));
        body.Append(HtmlReport.Table(new[] { "prompt", "evaluator reads", "matches prompt" },
            clips.Select(c => new[] { c.Prompt, c.Judged, c.Matches ? "yes" : "no" })));
        body.Append("<h3>Attention per layer (self-attention, conditional rows, head-averaged)</h3>");
        body.Append(HtmlReport.Table(new[] { "site", "entropy (nats)", "keys for 90% mass (fraction)", "top receiver", "ratio to mean" },
            layers.Select(l => new[] { l.Site, l.Entropy.ToString("F3"), l.Coverage90.ToString("F3"), l.TopReceiver, l.TopRatio.ToString("F1") })));
        body.Append("<p>Frame × frame maps (row: query frame, column: key frame):</p>");
        foreach (var l in layers) body.Append(HtmlReport.Figure(l.FrameMap, l.Site));
        body.Append("<p>Attention received per key on the video grid (frames left to right): sinks show as bright cells.</p>");
        foreach (var l in layers) body.Append(HtmlReport.Figure(l.SinkMap, l.Site));
        body.Append("<p>Data: <a href=\"data/demo.json\">demo.json</a>, <a href=\"data/layers.csv\">layers.csv</a>, <a href=\"data/probes.safetensors\">probes.safetensors</a> (keys: docs/probes.md).</p>");
        report.WriteSection(10, "demo", "Demo: generation and attention on the embedded model", body.ToString());
        video.Dispose();
        return clips;
    }

    private static List<DemoClip> WriteClips(HtmlReport report, DemoOptions o, Tensor video)
    {
        var clips = new List<DemoClip>();
        var asClips = new List<Tensor>();
        for (int b = 0; b < o.Prompts.Count; b++)
        {
            var clip = (video[b].permute(0, 3, 1, 2) * 2 - 1).contiguous(); // [F, 3, H, W] in [-1, 1]
            asClips.Add(clip);
            string gif = $"demo/clip{b}.gif";
            ClipPictures.WriteGif(clip, report.Asset(gif), scale: 4);
            var judgement = ClipEvaluator.Evaluate(clip);
            clips.Add(new DemoClip(o.Prompts[b], judgement.Describe(), gif, MatchesPrompt(judgement, o.Prompts[b])));
        }
        ClipPictures.WriteContactSheet(asClips, report.Asset("demo/contact_sheet.png"), scale: 3);
        return clips;
    }

    /// <summary>The evaluator's colour, shape and direction words all appear in the prompt.</summary>
    public static bool MatchesPrompt(ClipJudgement j, string prompt)
    {
        var words = prompt.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        return j.Colour is { } c && j.Shape is { } s && j.Direction is { } d
            && words.Contains(c.ToString().ToLowerInvariant()) && words.Contains(s.ToString().ToLowerInvariant()) && words.Contains(d.ToString().ToLowerInvariant());
    }

    private sealed record LayerSummary(string Site, double Entropy, double Coverage90, string TopReceiver, double TopRatio, string FrameMap, string SinkMap);

    private static List<LayerSummary> WriteAttention(HtmlReport report, WanPipeline pipeline, ProbeResults r, DemoOptions o)
    {
        var list = new List<LayerSummary>();
        foreach (var site in pipeline.Transformer.Sites.Where(s => s.Kind == AttentionKind.Self))
        {
            string k = site.Name;
            if (!r.TryGetValue(k + ".frame_map", out var frame)) continue;
            var cond = (Tensor t) => t.mean(new long[] { 0, 1 }); // the probes read the conditional rows; prompt and head mean
            string framePng = $"demo/{k}.frame_map.png";
            var fm = cond(frame);
            Heatmap.Write(report.Asset(framePng), fm, Heatmap.CellFor(fm.shape[0], fm.shape[1], 144));
            var mass = cond(r[k + ".received_mass"]);
            // Frames side by side: [F, H, W] → [H, F·W].
            string sinkPng = $"demo/{k}.received_mass.png";
            var layout = LayoutOf(pipeline, o);
            var g = layout.Grid!;
            var sideBySide = mass.reshape(g.Frames, g.Height, g.Width).permute(1, 0, 2).reshape(g.Height, g.Frames * g.Width);
            Heatmap.Write(report.Asset(sinkPng), sideBySide, 8);
            var top = SinkLocator.Top(r[k + ".received_mass"], layout, 1)[0];
            double entropy = r[k + ".entropy"].mean().item<float>();
            double coverage90 = r[k + ".coverage_fraction"].mean(new long[] { 0, 1 })[1].item<float>();
            list.Add(new LayerSummary(k, entropy, coverage90, top.Location, top.RatioToMean, framePng, sinkPng));
        }
        return list;
    }

    private static TokenLayout LayoutOf(WanPipeline pipeline, DemoOptions o)
    {
        var shape = pipeline.Geometry.LatentShape(1, o.Frames, o.Height, o.Width); // [1, C, F, H, W]
        var p = pipeline.Geometry.PatchSize;
        return TokenLayout.Video(new VideoGrid((int)shape[2] / p[0], (int)shape[3] / p[1], (int)shape[4] / p[2]));
    }
}
