using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Reports.Explorer;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Reports.Explorer;

/// <summary>
/// A joint-attention explorer (text keys first in CogVideoX, last in Mochi-1) in headless Chromium: the head picker and
/// a real click choose the query row drawn over the frames, the text strip shows the same row's text keys with padding
/// marked, and the received-mass overlay starts at the site's video keys. Without chromium the test fails.
/// </summary>
public sealed class JointExplorerBrowserTests
{
    private static string ScreenshotFolder => Path.Combine(AppContext.BaseDirectory, "browser-screenshots");

    [Theory]
    [InlineData("cogvideox")]
    [InlineData("mochi")]
    public void Head_picker_and_click_draw_the_recorded_video_and_text_rows_of_a_joint_attention_site(string family)
    {
        if (HeadlessChromium.Executable is null)
        {
            Assert.True(HeadlessChromium.MaySkip, HeadlessChromium.MissingMessage);
            return;
        }
        using var tiny = new TinyJointPipeline(family);
        string folder = Path.Combine(Path.GetTempPath(), "vditlens-explorer-" + Guid.NewGuid().ToString("N"));
        try
        {
            ExplorerRun.GenerateReport(tiny.Pipeline, tiny.Request, new ExplorerOptions { Steps = new[] { 1 } }, folder).Video.Dispose();
            using var browser = new HeadlessChromium();
            ExplorerPage.Open(browser, Path.Combine(folder, "index.html"));
            Assert.Empty(browser.Errors);
            Assert.Equal("ok", browser.Evaluate<string>("document.body.dataset.assets"));
            using var recorded = SafeTensorsFile.Open(Path.Combine(folder, ExplorerWriter.Safetensors));
            string site = browser.Evaluate<string>("VDITLENS_EXPLORER.sites[0]");
            Assert.Equal("joint", browser.Evaluate<string>("VDITLENS_EXPLORER.siteInfo[0].kind"));

            // The unconditional row of the first prompt: its text is the empty negative prompt, so most text keys are padding where the family masks them.
            ExplorerPage.Select(browser, "branch", "uncond");
            ExplorerPage.Select(browser, "head", "1");
            int row = browser.Evaluate<int>("vditlensExplorer.batchRow()");
            Assert.Equal(tiny.Request.Prompts.Count, row);
            var queries = ExplorerPage.Queries(browser);
            int target = Array.FindLastIndex(queries, q => q[0] == 1);
            Assert.Equal(target, ExplorerPage.ClickPatch(browser, 1, queries[target][1], queries[target][2]));

            using (var expected = recorded.Load(ExplorerWriter.HeadRowsKey(site, 1))[row, 1, target].flatten())
                ExplorerPage.AssertDecoded(expected, ExplorerPage.Numbers(browser.Evaluate("vditlensExplorer.drawnOverlay()")));
            var valid = recorded.Load(ExplorerWriter.TextValidKey(site, 1))[row].data<float>().ToArray();
            if (family == "mochi") Assert.Contains(0f, valid);
            var text = ExplorerPage.Numbers(browser.Evaluate("vditlensExplorer.textValues().map(function (v) { return isNaN(v) ? -1 : v; })"));
            Assert.Equal(valid.Length, text.Length);
            Assert.All(Enumerable.Range(0, valid.Length), i => Assert.True(valid[i] > 0 ? text[i] >= 0 : text[i] == -1, $"text key {i}: valid {valid[i]}, drawn {text[i]}"));
            using (var expected = recorded.Load(ExplorerWriter.TextHeadRowsKey(site, 1))[row, 1, target])
            {
                var real = Enumerable.Range(0, valid.Length).Where(i => valid[i] > 0).ToArray();
                ExplorerPage.AssertDecoded(expected.index_select(0, torch.tensor(real.Select(i => (long)i).ToArray())), real.Select(i => text[i]).ToArray());
            }
            // The strip: one column per key, trailing padding keys (more than four) in one; labelled with the negative prompt's tokens.
            var columns = browser.Evaluate("vditlensExplorer.stripColumns().map(function (c) { return c.keys.length; })")!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
            Assert.Equal(valid.Length, columns.Sum());
            Assert.Equal(2 * columns.Length, browser.Evaluate<int>("document.querySelectorAll('#explorer-text svg rect[data-c]').length"));
            var tokens = browser.Evaluate("vditlensExplorer.keyTokens()")!.AsArray().Select(t => t!.GetValue<string>()).ToArray();
            var negative = tiny.Pipeline.TextTokens(new[] { tiny.Request.NegativePrompt }, tiny.Request.MaxSequenceLength)[0];
            Assert.Equal(negative, tokens);
            Assert.Contains(VDiTLens.Text.TokenText.Padding, tokens);

            // The strip's second row: the mean over the captured queries of the same frame.
            var frameQueries = Enumerable.Range(0, queries.Length).Where(i => queries[i][0] == 1).Select(i => (long)i).ToArray();
            using (var rows = recorded.Load(ExplorerWriter.TextHeadRowsKey(site, 1))[row, 1].index_select(0, torch.tensor(frameQueries)).to(ScalarType.Float64))
            {
                var expected = rows.mean(new long[] { 0 }).data<double>().ToArray();
                double tolerance = rows.max().item<double>() / Quantised.Levels / 2 * (1 + 1e-6) + 1e-9;
                var frame = ExplorerPage.Numbers(browser.Evaluate("vditlensExplorer.frameTextValues().map(function (v) { return isNaN(v) ? -1 : v; })"));
                Assert.All(Enumerable.Range(0, valid.Length), i => Assert.True(valid[i] > 0 ? Math.Abs(frame[i] - expected[i]) <= tolerance : frame[i] == -1,
                    $"text key {i}: frame mean drawn {frame[i]}, recorded {expected[i]}"));
            }
            browser.Screenshot(Path.Combine(ScreenshotFolder, $"joint-{family}-query.png"), "#explorer");

            ExplorerPage.Select(browser, "head", "-1");
            using (var expected = recorded.Load(ExplorerWriter.RowsKey(site, 1))[row, target].flatten())
            {
                ExplorerPage.AssertDecoded(expected, ExplorerPage.Numbers(browser.Evaluate("vditlensExplorer.drawnOverlay()")));
                // A site without per-head rows (--explorer-head-rows) draws the head mean for a chosen head, and says so.
                browser.Evaluate("VDITLENS_EXPLORER.siteInfo[0].headRows = false");
                ExplorerPage.Select(browser, "head", "1");
                ExplorerPage.AssertDecoded(expected, ExplorerPage.Numbers(browser.Evaluate("vditlensExplorer.drawnOverlay()")));
                Assert.Contains("head mean (head 1's rows not captured", browser.Evaluate<string>("document.getElementById('explorer-readout').textContent"));
                browser.Evaluate("VDITLENS_EXPLORER.siteInfo[0].headRows = true");
            }

            // Received mass over all keys [text…, video…] or [video…, text…]: the overlay is the video keys' part.
            ExplorerPage.Select(browser, "head", "1");
            ExplorerPage.Select(browser, "overlay", "mass");
            long videoStart = browser.Evaluate<long>("VDITLENS_EXPLORER.siteInfo[0].videoKeyStart");
            Assert.Equal(tiny.TextFirst ? valid.Length : 0, videoStart);
            using var grid = recorded.Load(ExplorerWriter.RowsKey(site, 1));
            long videoKeys = grid.shape[2] * grid.shape[3] * grid.shape[4];
            using (var mass = recorded.Load($"{site}.step1.received_mass")[row, 1].narrow(0, videoStart, videoKeys))
                ExplorerPage.AssertDecoded(mass, ExplorerPage.Numbers(browser.Evaluate("vditlensExplorer.drawnOverlay()")));
            Assert.Empty(browser.Errors);
        }
        finally
        {
            try { Directory.Delete(folder, true); } catch (IOException) { }
        }
    }
}
