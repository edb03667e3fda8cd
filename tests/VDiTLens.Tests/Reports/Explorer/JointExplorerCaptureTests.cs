using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Reports;
using VDiTLens.Reports.Explorer;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Reports.Explorer;

/// <summary>
/// The explorer on joint-attention families: every captured query row (per head and head mean, on the video keys and
/// on the text keys) equals softmax(q·kᵀ·scale) over the real keys computed in float64 from the call's own q and k,
/// with the video and text keys located by each family's token order (not by the explorer's layout).
/// </summary>
public sealed class JointExplorerCaptureTests
{
    private const double Tolerance = 2e-5;

    /// <summary>q and k of every call at one step with video queries and keys, as the kernel saw them, in float64.</summary>
    private sealed class CallRecorder(int step) : IAttentionProbe
    {
        public List<(string Site, string Branch, Tensor Q, Tensor K, double Scale, Tensor? Valid)> Calls { get; } = new();

        public bool Accepts(AttentionCall call) => call.Step == step && call.QueryLayout.Grid is not null && call.KeyLayout.Grid is not null;

        public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output) =>
            Calls.Add((call.Site.Name, call.Branch, q.detach().cpu().to(ScalarType.Float64).DetachFromDisposeScope(),
                k.detach().cpu().to(ScalarType.Float64).DetachFromDisposeScope(), call.Scale, call.KeyLayout.Valid?.cpu().clone().DetachFromDisposeScope()));
    }

    public static TheoryData<string> Families => new(TinyJointPipeline.Families);

    [Theory]
    [MemberData(nameof(Families))]
    public void Captured_rows_equal_a_float64_softmax_of_the_calls_q_and_k_with_text_keys_at_the_familys_offset(string family)
    {
        using var tiny = new TinyJointPipeline(family);
        string folder = Path.Combine(Path.GetTempPath(), "vditlens-explorer-" + Guid.NewGuid().ToString("N"));
        try
        {
            var recorder = new CallRecorder(step: 1);
            using var attached = tiny.Pipeline.Seam.Attach(recorder);
            var options = new ExplorerOptions { Steps = new[] { 1 } };
            var run = ExplorerRun.GenerateReport(tiny.Pipeline, tiny.Request, options, folder);
            run.Video.Dispose();
            if (family == "hunyuan") // the token refiner's text-only self-attention is selected by default and left out, by name
                Assert.Contains("context_embedder.token_refiner.refiner_blocks.0.attn", File.ReadAllText(Path.Combine(folder, "index.html")));

            using var saved = SafeTensorsFile.Open(Path.Combine(folder, ExplorerWriter.Safetensors));
            var textTokens = CrossExplorerCaptureTests.ExplorerData(folder)["textTokens"]!.AsArray()
                .Select(r => r!.AsArray().Select(x => x!.GetValue<string>()).ToArray()).ToArray();
            if (family == "hunyuan") // the template's first crop_start tokens are dropped: the text keys start at the prompt
                Assert.Equal("a cat<|eot_id|>", string.Concat(textTokens[0].Where(x => x != VDiTLens.Text.TokenText.Padding)));
            var sites = recorder.Calls.Select(c => c.Site).Distinct().ToArray();
            Assert.NotEmpty(sites);
            Assert.All(tiny.Pipeline.Sites.Where(s => s.Kind == AttentionKind.Joint), s => Assert.Contains(s.Name, sites));
            foreach (string site in sites)
            {
                var calls = recorder.Calls.Where(c => c.Site == site).OrderBy(c => c.Branch == "uncond" ? 1 : 0).ToArray();
                using var q = torch.cat(calls.Select(c => c.Q).ToArray(), 0);
                using var k = torch.cat(calls.Select(c => c.K).ToArray(), 0);
                using var grid = saved.Load(ExplorerWriter.HeadRowsKey(site, 1)); // [B, H, Q, F, H', W']
                using var text = saved.Load(ExplorerWriter.TextHeadRowsKey(site, 1)); // [B, H, Q, T]
                using var valid = saved.Load(ExplorerWriter.TextValidKey(site, 1)); // [B, T]
                using var queries = saved.Load($"{site}.row_queries");
                long b = q.shape[0], heads = q.shape[1], lk = k.shape[2], n = grid.shape[3] * grid.shape[4] * grid.shape[5], t = lk - n;
                Assert.Equal(new[] { b, heads }, grid.shape.Take(2));
                Assert.Equal(t, text.shape[3]);
                Assert.All(textTokens, row => Assert.Equal(t, row.Length)); // one token text per text key
                long videoStart = tiny.TextFirst ? t : 0, textStart = tiny.TextFirst ? 0 : n;

                // Query positions: the frame-major grid of patch cells, offset past the text in text-first families.
                var cells = options.QueryCells(new VideoGrid((int)grid.shape[3], (int)grid.shape[4], (int)grid.shape[5]));
                var expectedPositions = cells.Select(c => videoStart + ((long)c.Frame * grid.shape[4] + c.Y) * grid.shape[5] + c.X).ToArray();
                Assert.Equal(expectedPositions, queries.data<long>().ToArray());

                // Real keys: the call's key validity (all keys when it has none); padding text keys are recorded as such and get nothing.
                var keyValid = calls.All(c => c.Valid is null) ? torch.ones(b, lk, dtype: ScalarType.Bool)
                    : torch.cat(calls.Select(c => c.Valid!).ToArray(), 0).to(ScalarType.Bool);
                var textValid = keyValid.narrow(1, textStart, t);
                Assert.Equal(textValid.to(ScalarType.Float32).data<float>().ToArray(), valid.data<float>().ToArray());

                var index = torch.tensor(expectedPositions);
                var logits = torch.matmul(q.index_select(2, index), k.transpose(-2, -1)) * calls[0].Scale; // [B, H, Q, Lk]
                var p = logits.masked_fill(keyValid.logical_not().view(b, 1, 1, lk), double.NegativeInfinity).softmax(-1);
                var expectedVideo = p.narrow(3, videoStart, n).reshape(grid.shape);
                var expectedText = p.narrow(3, textStart, t);
                AssertClose(expectedVideo, grid, site, "video keys per head");
                AssertClose(expectedText, text, site, "text keys per head");
                using (var mean = saved.Load(ExplorerWriter.RowsKey(site, 1))) AssertClose(expectedVideo.mean(new long[] { 1 }), mean, site, "video keys head mean");
                using (var mean = saved.Load(ExplorerWriter.TextRowsKey(site, 1))) AssertClose(expectedText.mean(new long[] { 1 }), mean, site, "text keys head mean");
                Assert.Equal(0.0, text.masked_select(valid.eq(0).view(b, 1, 1, t).expand_as(text)).abs().sum().item<float>());
                // Each query's attention over the video and text keys together is one softmax row.
                var total = grid.flatten(3).sum(-1) + text.sum(-1);
                Assert.True((total - 1).abs().max().item<float>() < 1e-4, $"{site}: rows do not sum to 1");
            }
            if (family != "cogvideox") // Mochi and HunyuanVideo pad text: at least one padding key must be present to test the exclusion
                Assert.Contains(recorder.Calls, c => c.Valid is { } v && !v.all().item<bool>());
        }
        finally
        {
            try { Directory.Delete(folder, true); } catch (IOException) { }
        }
    }

    private static void AssertClose(Tensor expected, Tensor actual, string site, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double error = (expected - actual.to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(error < Tolerance, $"{site}, {what}: largest difference {error:E2} from the float64 reference");
    }
}
