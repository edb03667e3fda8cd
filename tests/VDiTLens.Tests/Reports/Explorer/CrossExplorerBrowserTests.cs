using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Pipelines;
using VDiTLens.Reports.Explorer;
using VDiTLens.Runtime;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Reports.Explorer;

/// <summary>
/// A cross-attention site of the pixel-space Wan pipeline (word-level vocabulary) in headless Chromium: a real click on
/// a frame picks a query, the strip shows that query's recorded row over the text keys labelled with the prompt's
/// words (trailing padding keys summed into one column), the frames get no overlay and the maps are replaced by a
/// note. Without chromium the test fails.
/// </summary>
public sealed class CrossExplorerBrowserTests
{
    private static string ScreenshotFolder => Path.Combine(AppContext.BaseDirectory, "browser-screenshots");

    [Fact]
    public void Click_at_a_cross_attention_site_draws_the_recorded_row_over_the_prompts_words()
    {
        Assert.True(HeadlessChromium.Executable is not null, HeadlessChromium.MissingMessage);
        TorchRuntime.Initialise();
        using var folderPipeline = new PixelSpacePipeline();
        using var pipeline = WanPipeline.Load(folderPipeline.Path, new ComputeOptions(CPU, ScalarType.Float32, 3));
        var request = new GenerationRequest
        {
            Prompts = new[] { "A red circle, moving left!", "a blue square" }, GuidanceScale = 5, Steps = 2, Seed = 3,
            Frames = 5, Height = 16, Width = 16, MaxSequenceLength = 12,
        };
        string folder = Path.Combine(Path.GetTempPath(), "vditlens-explorer-" + Guid.NewGuid().ToString("N"));
        try
        {
            ExplorerRun.GenerateReport(pipeline, request, new ExplorerOptions { Steps = new[] { 1 } }, folder).Video.Dispose();
            using var browser = new HeadlessChromium();
            ExplorerPage.Open(browser, Path.Combine(folder, "index.html"));
            Assert.Empty(browser.Errors);
            var sites = browser.Evaluate("VDITLENS_EXPLORER.sites")!.AsArray().Select(s => s!.GetValue<string>()).ToList();
            Assert.Equal(new[] { "blocks.0.attn1", "blocks.0.attn2", "blocks.1.attn1", "blocks.1.attn2" }, sites);
            const string site = "blocks.1.attn2";
            ExplorerPage.Select(browser, "site", sites.IndexOf(site).ToString());
            ExplorerPage.Select(browser, "head", "1");
            ExplorerPage.Select(browser, "step", "0");
            int row = browser.Evaluate<int>("vditlensExplorer.batchRow()");
            Assert.Equal(0, row);

            var queries = ExplorerPage.Queries(browser);
            int target = Array.FindLastIndex(queries, q => q[0] == 2);
            Assert.Equal(target, ExplorerPage.ClickPatch(browser, 2, queries[target][1], queries[target][2]));
            Assert.Null(browser.Evaluate("vditlensExplorer.drawnOverlay()")); // no video keys to overlay

            // The word-level tokenizer lower-cases and drops punctuation: five words, </s>, then six padding keys summed.
            var labels = browser.Evaluate("vditlensExplorer.stripColumns().map(function (c) { return c.label; })")!.AsArray().Select(s => s!.GetValue<string>()).ToArray();
            Assert.Equal(new[] { "a", "red", "circle", "moving", "left", "</s>", "[pad]×6" }, labels);
            var drawnLabels = browser.Evaluate("Array.from(document.querySelectorAll('#explorer-text svg text.col-label')).map(function (t) { return t.textContent; })")!
                .AsArray().Select(s => s!.GetValue<string>()).ToArray();
            Assert.Equal(labels, drawnLabels);
            Assert.Contains("text token 1 “red”", browser.Evaluate<string>("document.querySelector('#explorer-text svg rect[data-r=\"0\"][data-c=\"1\"] title').textContent"));

            using var recorded = SafeTensorsFile.Open(Path.Combine(folder, ExplorerWriter.Safetensors));
            using var expected = recorded.Load(ExplorerWriter.TextHeadRowsKey(site, 1))[row, 1, target].to(ScalarType.Float64); // [12]
            Assert.Equal(12, expected.shape[0]);
            ExplorerPage.AssertDecoded(expected, ExplorerPage.Numbers(browser.Evaluate("vditlensExplorer.textValues()")));
            var strip = ExplorerPage.Numbers(browser.Evaluate("vditlensExplorer.stripValues()"));
            var values = expected.data<double>().ToArray();
            double tolerance = 6 * values.Max() / Quantised.Levels / 2 * (1 + 1e-6) + 1e-9;
            var reference = values.Take(6).Append(values.Skip(6).Sum()).ToArray();
            Assert.Equal(reference.Length, strip.Length);
            Assert.All(Enumerable.Range(0, strip.Length), i => Assert.True(Math.Abs(strip[i] - reference[i]) <= tolerance, $"column {labels[i]}: drawn {strip[i]}, recorded {reference[i]}"));
            Assert.Equal(1.0, strip.Sum(), 3); // the query's whole softmax row: cross-attention has only text keys
            Assert.Equal(2 * labels.Length, browser.Evaluate<int>("document.querySelectorAll('#explorer-text svg rect[data-c]').length"));
            string readout = browser.Evaluate<string>("document.getElementById('explorer-readout').textContent");
            Assert.Contains("cross-attention to text keys only", readout);
            int top = Array.IndexOf(values, values.Max());
            Assert.Contains($"(key {top})", readout);
            Assert.Contains("no frame, tile or received-mass maps", browser.Evaluate<string>("document.getElementById('explorer-frame-map').textContent"));
            browser.Screenshot(Path.Combine(ScreenshotFolder, "cross-query.png"), "#explorer");

            // The unconditional row: the empty negative prompt is </s> and eleven padding keys.
            ExplorerPage.Select(browser, "branch", "uncond");
            labels = browser.Evaluate("vditlensExplorer.stripColumns().map(function (c) { return c.label; })")!.AsArray().Select(s => s!.GetValue<string>()).ToArray();
            Assert.Equal(new[] { "</s>", "[pad]×11" }, labels);
            Assert.Empty(browser.Errors);
        }
        finally
        {
            try { Directory.Delete(folder, true); } catch (IOException) { }
        }
    }
}
