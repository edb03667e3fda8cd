using TorchSharp;
using VDiTLens.Demo;
using VDiTLens.Reports;
using VDiTLens.Runtime;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Demo;

public sealed class DemoReportTests
{
    private static string MakeReport(PixelSpacePipeline pipeline)
    {
        TorchRuntime.Initialise();
        string folder = Path.Combine(Path.GetTempPath(), "vditlens-report-" + Guid.NewGuid().ToString("N"));
        DemoRun.Run(new DemoOptions
        {
            Model = pipeline.Path, Out = folder, Steps = 2, Frames = 3, Height = 16, Width = 16,
            Prompts = new[] { "a red circle moving left", "a blue square moving right" },
        }, new ComputeOptions(torch.CPU, torch.ScalarType.Float32, 1));
        return folder;
    }

    [Fact]
    public void Report_has_every_picture_it_references()
    {
        using var pipeline = new PixelSpacePipeline();
        string folder = MakeReport(pipeline);
        string html = File.ReadAllText(Path.Combine(folder, "index.html"));
        var sources = System.Text.RegularExpressions.Regex.Matches(html, "src=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Contains(sources, s => s.EndsWith(".gif"));
        Assert.Contains(sources, s => s.EndsWith(".frame_map.png"));
        Assert.All(sources, s => Assert.True(File.Exists(Path.Combine(folder, s)), $"missing {s}"));
        Assert.True(File.Exists(Path.Combine(folder, "data", "demo.json")));
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
    }

    [Fact]
    public void Report_opens_in_headless_chromium_without_errors_and_a_broken_one_is_caught()
    {
        if (HeadlessBrowser.Executable is null)
        {
            Assert.False(HeadlessBrowser.Required, "chromium is required (VDITLENS_REQUIRE_BROWSER=1) but not installed");
            return;
        }
        using var pipeline = new PixelSpacePipeline();
        string folder = MakeReport(pipeline);
        var (dom, log) = HeadlessBrowser.Open(Path.Combine(folder, "index.html"));
        Assert.Contains("data-assets=\"ok\"", dom);
        Assert.DoesNotContain("Uncaught", log);
        Assert.DoesNotContain("missing assets", log);

        // The same check must fail on a report with a missing picture.
        new HtmlReport(folder).WriteSection(99, "broken", "broken", HtmlReport.Figure("nope.png", "missing"));
        var (brokenDom, _) = HeadlessBrowser.Open(Path.Combine(folder, "index.html"));
        Assert.Contains("data-assets=\"broken\"", brokenDom);
    }
}
