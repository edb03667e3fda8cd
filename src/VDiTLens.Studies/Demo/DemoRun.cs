using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using VDiTLens.Procedural;
using VDiTLens.Reports;
using VDiTLens.Reports.Explorer;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Demo;

/// <summary>One line of the demo's result table.</summary>
public sealed record DemoClip(string Prompt, string Judged, string Gif, bool Matches);

/// <summary>
/// The main job on the embedded model: generate a few prompts with attention probes attached, judge each clip with
/// the procedural evaluator, and write the report (videos, contact sheet, per-layer charts of frame maps, sinks,
/// entropy and coverage, the interactive attention explorer, JSON/CSV/safetensors data).
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
        var layout = LayoutOf(pipeline, o);
        Tensor video;
        Dictionary<string, Tensor> results;
        string explorerHtml = "";
        using (var probes = new ProbeSet(pipeline.Seam, probeOptions))
        {
            log?.Report($"generating {o.Prompts.Count} prompts, {o.Steps} steps, guidance {o.Guidance}");
            var request = new GenerationRequest
            {
                Prompts = o.Prompts, Steps = o.Steps, GuidanceScale = o.Guidance, Seed = compute.Seed,
                Frames = o.Frames, Height = o.Height, Width = o.Width, MaxSequenceLength = o.MaxSequenceLength,
                Progress = progress,
            };
            if (o.Explorer.Enabled)
                (video, explorerHtml, _) = ExplorerRun.Generate(pipeline, request, o.Explorer, report);
            else
                video = pipeline.Generate(request);
            results = probes.Results().ByPrintedKey();
            SafeTensorsWriter.Save(report.Asset("data/probes.safetensors"), results);
        }

        log?.Report("judging clips and writing the report");
        var clips = WriteClips(report, o, video);
        var selfSites = pipeline.Transformer.Sites.Where(s => s.Kind == AttentionKind.Self && results.ContainsKey(s.Name + ".frame_map")).Select(s => s.Name).ToList();
        var layers = Summarise(results, selfSites, layout, o.Prompts.Count);
        File.WriteAllText(report.Asset("data/demo.json"), JsonSerializer.Serialize(new { prompts = o.Prompts, clips, layers, seconds = clock.Elapsed.TotalSeconds }, new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllLines(report.Asset("data/layers.csv"), new[] { "site,layer,entropy,coverage90_fraction,top_receiver,top_share" }
            .Concat(layers.Select(l => string.Create(CultureInfo.InvariantCulture, $"{l.Site},{l.Layer},{l.Entropy:F4},{l.Coverage90:F4},\"{l.TopReceiver}\",{l.TopShare:F5}"))));

        var body = new System.Text.StringBuilder();
        body.Append($"<p>Model <code>{HtmlReport.Escape(o.Model)}</code>, {o.Steps} steps, guidance {o.Guidance}, seed {compute.Seed}, {ComputeOptions.NameOf(compute.DType)} on {HtmlReport.Escape(compute.Device.ToString())}; {clock.Elapsed.TotalSeconds:F1} s.</p>");
        body.Append("<h3>Generated clips</h3>");
        foreach (var c in clips) body.Append(HtmlReport.Figure(c.Gif, c.Prompt, 160));
        body.Append(HtmlReport.Figure("demo/contact_sheet.png", "all frames, one row per prompt"));
        body.Append(HtmlReport.Table(new[] { "prompt", "evaluator reads", "matches prompt" },
            clips.Select(c => new[] { c.Prompt, c.Judged, c.Matches ? "yes" : "no" })));
        body.Append("<h3>Attention explorer</h3>").Append(explorerHtml.Length > 0 ? explorerHtml : "<p>Not captured (explorer disabled).</p>");
        body.Append("<h3>Attention per layer (self-attention, conditional rows, mean over prompts and denoising steps)</h3>");
        body.Append(HtmlReport.Table(new[] { "site", "entropy (nats)", "keys for 90% mass (fraction)", "top receiver", "its share of the attention" },
            layers.Select(l => new[] { l.Site, l.Entropy.ToString("F3"), l.Coverage90.ToString("F3"), l.TopReceiver, l.TopShare.ToString("P2") })));
        body.Append(DemoCharts.Write(report, results, layers, layout, o.Prompts));
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

    private static List<DemoLayer> Summarise(Dictionary<string, Tensor> r, IReadOnlyList<string> sites, TokenLayout layout, int prompts)
    {
        var list = new List<DemoLayer>();
        for (int i = 0; i < sites.Count; i++)
        {
            string k = sites[i];
            var top = SinkLocator.Top(r[k + ".received_mass"].narrow(0, 0, prompts), layout, 1)[0];
            double entropy = r[k + ".entropy"].narrow(0, 0, prompts).mean().item<float>();
            double coverage90 = r[k + ".coverage_fraction"].narrow(0, 0, prompts).mean(new long[] { 0, 1 })[1].item<float>();
            list.Add(new DemoLayer(k, i, entropy, coverage90, top.Location, top.Mass));
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

/// <summary>One self-attention layer of the demo's table (conditional rows, head- and step-averaged).</summary>
public sealed record DemoLayer(string Site, int Layer, double Entropy, double Coverage90, string TopReceiver, double TopShare);
