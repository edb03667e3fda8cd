using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using TorchSharp;
using VDiTLens.Demo;
using VDiTLens.IO;
using VDiTLens.Reports;
using VDiTLens.Reports.Explorer;
using VDiTLens.Runtime;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Demo;

public sealed class DemoReportTests
{
    private static readonly string[] Prompts = { "a red circle moving left", "a blue square moving right" };
    private const int Steps = 3;

    /// <summary>A temporary report folder, deleted with the object.</summary>
    private sealed class TempReport(string path) : IDisposable
    {
        public string Path { get; } = path;
        public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
    }

    private static TempReport MakeReport(PixelSpacePipeline pipeline)
    {
        TorchRuntime.Initialise();
        string folder = Path.Combine(Path.GetTempPath(), "vditlens-report-" + Guid.NewGuid().ToString("N"));
        DemoRun.Run(new DemoOptions
        {
            Model = pipeline.Path, Out = folder, Steps = Steps, Frames = 3, Height = 16, Width = 16, Prompts = Prompts,
        }, new ComputeOptions(torch.CPU, torch.ScalarType.Float32, 1));
        return new TempReport(folder);
    }

    private static string ScreenshotFolder => Path.Combine(AppContext.BaseDirectory, "browser-screenshots");

    [Fact]
    public void Report_has_every_file_it_references_and_every_chart_links_its_data()
    {
        using var pipeline = new PixelSpacePipeline();
        using var report = MakeReport(pipeline);
        string folder = report.Path;
        string html = File.ReadAllText(Path.Combine(folder, "index.html"));
        var references = Regex.Matches(html, "(?:src|href)=\"([^\"#][^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Contains(references, s => s.EndsWith(".gif"));
        Assert.Contains(references, s => s == "demo/frame_maps.svg");
        Assert.Contains(references, s => s == ExplorerWriter.DataScript);
        Assert.Contains(references, s => s == ExplorerWriter.Safetensors);
        Assert.All(references, s => Assert.True(File.Exists(Path.Combine(folder, s)), $"missing {s}"));
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);

        // Every chart is a well-formed SVG file, inline with its axes, and links the data it was drawn from.
        var figures = Regex.Matches(html, "<figure class=\"chart\">(.*?)</figure>", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();
        Assert.True(figures.Count >= 6, $"{figures.Count} charts");
        Assert.All(figures, f => Assert.True(Regex.Matches(f, "<a href=").Count >= 2, "a chart without a data link"));
        foreach (var svg in Directory.GetFiles(folder, "*.svg", SearchOption.AllDirectories))
            Assert.Equal("svg", XDocument.Load(svg).Root!.Name.LocalName);
        string frameMaps = File.ReadAllText(Path.Combine(folder, "demo", "frame_maps.svg"));
        Assert.Contains(">query frame<", frameMaps);
        Assert.Contains(">key frame<", frameMaps);
        Assert.Contains(">share of video-key mass<", frameMaps);
        Assert.True(new FileInfo(Path.Combine(folder, ExplorerWriter.DataScript)).Length < 1 << 20);
    }

    [Fact]
    public void Explorer_in_headless_chromium_draws_the_recorded_probe_data()
    {
        if (HeadlessChromium.Executable is null)
        {
            Assert.True(HeadlessChromium.MaySkip, HeadlessChromium.MissingMessage);
            return;
        }
        using var pipeline = new PixelSpacePipeline();
        using var report = MakeReport(pipeline);
        string folder = report.Path;
        using var browser = new HeadlessChromium();
        ExplorerPage.Open(browser, Path.Combine(folder, "index.html"));
        Assert.Empty(browser.Errors);
        Assert.Equal("ok", browser.Evaluate<string>("document.body.dataset.assets"));
        browser.Screenshot(Path.Combine(ScreenshotFolder, "report.png"));
        browser.Screenshot(Path.Combine(ScreenshotFolder, "explorer-initial.png"), "#explorer");

        using var recorded = SafeTensorsFile.Open(Path.Combine(folder, ExplorerWriter.Safetensors));
        var sites = browser.Evaluate("VDITLENS_EXPLORER.sites")!.AsArray().Select(s => s!.GetValue<string>()).ToArray();
        var steps = browser.Evaluate("VDITLENS_EXPLORER.steps")!.AsArray().Select(s => s!.GetValue<int>()).ToArray();
        Assert.Equal(new[] { 0, Steps - 1 }, steps);
        var kinds = browser.Evaluate("VDITLENS_EXPLORER.siteInfo")!.AsArray().Select(s => s!["kind"]!.GetValue<string>()).ToArray();
        Assert.Equal(new[] { "self", "cross", "self", "cross" }, kinds); // cross-attention sites are captured by default
        int second = Array.LastIndexOf(kinds, "self");

        // Selecting layer, head, step, branch and prompt redraws the maps with the recorded values of that choice.
        string before = browser.Evaluate<string>("document.getElementById('explorer-frame-map').innerHTML");
        foreach (var (id, value) in new[] { ("site", second.ToString()), ("head", "1"), ("step", "1"), ("branch", "uncond"), ("prompt", "1") })
            ExplorerPage.Select(browser, id, value);
        Assert.NotEqual(before, browser.Evaluate<string>("document.getElementById('explorer-frame-map').innerHTML"));
        int row = browser.Evaluate<int>("vditlensExplorer.batchRow()");
        Assert.Equal(Prompts.Length + 1, row); // uncond rows follow the cond rows
        foreach (string map in ExplorerWriter.Maps)
        {
            using var expected = recorded.Load($"{sites[second]}.step{steps[1]}.{map}")[row, 1].flatten();
            ExplorerPage.AssertDecoded(expected, ExplorerPage.Numbers(browser.Evaluate($"vditlensExplorer.mapValues('{map}')")));
        }
        browser.Screenshot(Path.Combine(ScreenshotFolder, "frame-map.png"), "#explorer-frame-map");
        browser.Screenshot(Path.Combine(ScreenshotFolder, "tile-map.png"), "#explorer-tile-map");
        browser.Screenshot(Path.Combine(ScreenshotFolder, "mass-maps.png"), "#explorer-mass-maps");

        // A real click on frame 2 at a captured query's patch selects that query; the overlay is its recorded row of
        // the chosen head (head 1), then, with the head picker on "mean", its head-mean row.
        var queries = ExplorerPage.Queries(browser);
        int target = Array.FindLastIndex(queries, q => q[0] == 2);
        Assert.Equal(target, ExplorerPage.ClickPatch(browser, 2, queries[target][1], queries[target][2]));
        using (var rows = recorded.Load(ExplorerWriter.HeadRowsKey(sites[second], steps[1]))[row, 1, target].flatten())
        {
            ExplorerPage.AssertDecoded(rows, ExplorerPage.Numbers(browser.Evaluate("vditlensExplorer.drawnOverlay()")));
            Assert.Equal(1.0, rows.sum().item<float>(), 4); // a softmax row over the video keys
        }
        ExplorerPage.Select(browser, "head", "-1");
        using (var rows = recorded.Load(ExplorerWriter.RowsKey(sites[second], steps[1]))[row, target].flatten())
            ExplorerPage.AssertDecoded(rows, ExplorerPage.Numbers(browser.Evaluate("vditlensExplorer.drawnOverlay()")));
        ExplorerPage.Select(browser, "head", "1");
        browser.Screenshot(Path.Combine(ScreenshotFolder, "explorer-query.png"), "#explorer");

        browser.Evaluate("(function(){var e=document.getElementById('explorer-overlay');e.value='mass';e.dispatchEvent(new Event('change'));})()");
        using (var mass = recorded.Load($"{sites[second]}.step{steps[1]}.received_mass")[row, 1].flatten())
            ExplorerPage.AssertDecoded(mass, ExplorerPage.Numbers(browser.Evaluate("vditlensExplorer.drawnOverlay()")));
        browser.Screenshot(Path.Combine(ScreenshotFolder, "explorer-mass.png"), "#explorer");
        browser.Screenshot(Path.Combine(ScreenshotFolder, "charts.png"), "#demo figure.chart");
        Assert.Empty(browser.Errors);

        // The same checks catch a report with a missing picture.
        new HtmlReport(folder).WriteSection(99, "broken", "broken", HtmlReport.Figure("nope.png", "missing"));
        browser.Open(Path.Combine(folder, "index.html"));
        ExplorerPage.WaitFor(browser, "document.body.dataset.assets !== undefined");
        Assert.Equal("broken", browser.Evaluate<string>("document.body.dataset.assets"));
        Assert.Contains(browser.Errors, e => e.Contains("nope.png"));
    }
}
