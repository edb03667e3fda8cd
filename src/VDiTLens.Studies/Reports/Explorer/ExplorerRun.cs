using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Reports.Explorer;

/// <summary>A generated video [B, F, H, W, 3] in [0, 1] and the explorer written from its run (section HTML and what it holds).</summary>
public sealed record ExplorerGeneration(Tensor Video, string Html, ExplorerSummary Summary);

/// <summary>
/// Generation with the attention explorer: the one way every verb that writes an explorer (demo, generate) runs a
/// pipeline of any family with the explorer's probes attached and writes the explorer into a report.
/// </summary>
public static class ExplorerRun
{
    /// <summary>
    /// Generates <paramref name="request"/> on <paramref name="pipeline"/> with <see cref="ExplorerCapture"/> attached
    /// to its seam (next to whatever the caller attached) and writes the explorer's files into <paramref name="report"/>;
    /// the caller places the returned HTML in its section and owns the video.
    /// </summary>
    public static ExplorerGeneration Generate(ITextToVideoPipeline pipeline, GenerationRequest request, ExplorerOptions options, HtmlReport report)
    {
        Tensor video;
        Dictionary<string, Tensor> results;
        ExplorerInput input;
        string leftOut;
        using (var capture = new ExplorerCapture(pipeline.Seam, options, request.Steps))
        {
            video = pipeline.Generate(request);
            results = capture.Results();
            var rows = BatchRows(results, request.Prompts.Count);
            input = new ExplorerInput(results, capture.Steps, capture.Sites.ToArray(), request.Prompts, rows, video, request.Steps, options,
                TextTokens(pipeline, request, rows));
            leftOut = capture.LeftOut.Count == 0 ? ""
                : $"<p class=\"explorer-captured\">Selected but not captured (no video queries or keys): {HtmlReport.Escape(string.Join(", ", capture.LeftOut))}.</p>";
        }
        try
        {
            var (html, summary) = ExplorerWriter.Write(report, input);
            return new ExplorerGeneration(video, html + leftOut, summary);
        }
        finally
        {
            foreach (var t in results.Values) t.Dispose();
        }
    }

    /// <summary>
    /// <see cref="Generate"/> into a report folder of its own: the explorer section (order 15) of <paramref name="folder"/>'s
    /// index.html, with the run's settings above it. This is <c>vditlens generate --explorer</c>.
    /// </summary>
    public static ExplorerGeneration GenerateReport(ITextToVideoPipeline pipeline, GenerationRequest request, ExplorerOptions options, string folder)
    {
        var report = new HtmlReport(folder);
        var run = Generate(pipeline, request, options, report);
        string header = $"<p>Pipeline <code>{HtmlReport.Escape(pipeline.ClassName)}</code> (<code>{HtmlReport.Escape(Path.GetFileName(Path.TrimEndingDirectorySeparator(pipeline.FolderPath)))}</code>), "
            + $"{request.Steps} steps, guidance {request.GuidanceScale}, seed {request.Seed}, {request.Frames} frames of {request.Width}×{request.Height}; prompts: "
            + string.Join("; ", request.Prompts.Select((p, i) => $"{i + 1}: {HtmlReport.Escape(p)}")) + ".</p>";
        report.WriteSection(15, "explorer", "Attention explorer", header + run.Html);
        return run;
    }

    /// <summary>
    /// The token texts of each batch row's prompt (the conditional rows' prompts, the negative prompt on unconditional
    /// rows) as the pipeline tokenizes them; none where the request gives embeddings instead of prompts.
    /// </summary>
    private static string[][]? TextTokens(ITextToVideoPipeline pipeline, GenerationRequest request, List<(int Prompt, string Branch)> rows)
    {
        if (request.PromptEmbeds is not null || (request.NegativePromptEmbeds is not null && rows.Any(r => r.Branch == "uncond"))) return null;
        var cond = pipeline.TextTokens(request.Prompts, request.MaxSequenceLength);
        var uncond = rows.Any(r => r.Branch == "uncond") ? pipeline.TextTokens(new[] { request.NegativePrompt }, request.MaxSequenceLength)[0] : null;
        return rows.Select(r => r.Branch == "uncond" ? uncond! : cond[r.Prompt]).ToArray();
    }

    /// <summary>Prompt and branch of each captured batch row: the conditional rows, then the unconditional ones when guidance ran both.</summary>
    private static List<(int Prompt, string Branch)> BatchRows(Dictionary<string, Tensor> results, int prompts)
    {
        var any = results.FirstOrDefault(kv => kv.Key.EndsWith(".text_valid", StringComparison.Ordinal) || kv.Key.EndsWith(".frame_map", StringComparison.Ordinal)).Value
            ?? throw new VDiTLensException("explorer: no site was captured; check --explorer-sites and --explorer-steps against the model's sites and the run's steps");
        int rows = (int)any.shape[0];
        return Enumerable.Range(0, rows).Select(b => rows == 2 * prompts
            ? (b % prompts, b < prompts ? "cond" : "uncond") : (b, "cond")).ToList();
    }
}
