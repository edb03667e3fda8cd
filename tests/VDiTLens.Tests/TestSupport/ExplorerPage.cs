using System.Text.Json.Nodes;
using VDiTLens.Reports.Explorer;
using static TorchSharp.torch;

namespace VDiTLens.Tests.TestSupport;

/// <summary>Driving the attention explorer in <see cref="HeadlessChromium"/> and comparing what it draws with the recorded data.</summary>
internal static class ExplorerPage
{
    /// <summary>Opens a report and waits until its assets are checked and the explorer has drawn, with no error.</summary>
    public static void Open(HeadlessChromium browser, string indexHtml)
    {
        browser.Open(indexHtml);
        WaitFor(browser, "document.body.dataset.assets !== undefined && document.getElementById('explorer').dataset.rendered !== undefined");
    }

    /// <summary>Sets control <c>explorer-&lt;id&gt;</c> to <paramref name="value"/> as a user would (a change event).</summary>
    public static void Select(HeadlessChromium browser, string id, string value) =>
        browser.Evaluate($"(function(){{var e=document.getElementById('explorer-{id}');e.value='{value}';e.dispatchEvent(new Event('change'));}})()");

    /// <summary>A real mouse click on frame <paramref name="frame"/>'s canvas at the centre of patch (y, x); returns the query the page selected.</summary>
    public static int ClickPatch(HeadlessChromium browser, int frame, int y, int x)
    {
        var grid = browser.Evaluate("VDITLENS_EXPLORER.grid")!;
        int gh = grid["height"]!.GetValue<int>(), gw = grid["width"]!.GetValue<int>();
        var (left, top, w, h) = browser.Box($"canvas[data-frame=\"{frame}\"]");
        browser.Click(left + (x + 0.5) / gw * w, top + (y + 0.5) / gh * h);
        return int.Parse(browser.Evaluate<string>("document.getElementById('explorer-readout').dataset.query"));
    }

    /// <summary>The captured query cells (frame, row, column).</summary>
    public static int[][] Queries(HeadlessChromium browser) =>
        browser.Evaluate("VDITLENS_EXPLORER.queries")!.AsArray().Select(q => q!.AsArray().Select(v => v!.GetValue<int>()).ToArray()).ToArray();

    /// <summary>Each value the page decoded is within half a quantisation step (max / 65535 / 2) of the recorded float32.</summary>
    public static void AssertDecoded(Tensor expected, double[] actual)
    {
        var e = expected.to(ScalarType.Float64).data<double>().ToArray();
        Assert.Equal(e.Length, actual.Length);
        double tolerance = e.Max() / Quantised.Levels / 2 * (1 + 1e-6) + 1e-9;
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - actual[i]) <= tolerance, $"value {i}: page {actual[i]}, recorded {e[i]} (tolerance {tolerance})");
    }

    public static double[] Numbers(JsonNode? array) => array!.AsArray().Select(v => v!.GetValue<double>()).ToArray();

    public static void WaitFor(HeadlessChromium browser, string condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!browser.Evaluate<bool>(condition))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(20)) throw new TimeoutException($"page never reached: {condition}; errors: {string.Join("; ", browser.Errors)}");
            Thread.Sleep(50);
        }
    }
}
