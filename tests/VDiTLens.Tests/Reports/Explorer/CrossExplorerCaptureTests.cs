using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Pipelines;
using VDiTLens.Reports.Explorer;
using VDiTLens.Runtime;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Reports.Explorer;

/// <summary>
/// The explorer at Wan's cross-attention sites (video queries over the text keys, and in Wan2.1 I2V over the image
/// keys): every captured query row (per head and head mean) equals softmax(q·kᵀ·scale) computed in float64 from the
/// call's own q and k; no maps are kept there, and each batch row's token texts (one per text key) are written with
/// the prompt's words.
/// </summary>
public sealed class CrossExplorerCaptureTests
{
    private const double Tolerance = 2e-5;

    /// <summary>q and k of every cross-attention call at one step, as the kernel saw them, in float64.</summary>
    private sealed class CallRecorder(int step) : IAttentionProbe
    {
        public List<(string Site, string Branch, Tensor Q, Tensor K, double Scale)> Calls { get; } = new();

        public bool Accepts(AttentionCall call) => call.Step == step && call.Site.Kind == AttentionKind.Cross;

        public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output) =>
            Calls.Add((call.Site.Name, call.Branch, q.detach().cpu().to(ScalarType.Float64).DetachFromDisposeScope(),
                k.detach().cpu().to(ScalarType.Float64).DetachFromDisposeScope(), call.Scale));
    }

    [Theory]
    [InlineData("t2v")]
    [InlineData("i2v")]
    public void Cross_attention_rows_equal_a_float64_softmax_of_the_calls_q_and_k_and_text_keys_carry_their_tokens(string kind)
    {
        TorchRuntime.Initialise();
        using var i2v = kind == "i2v" ? new Wan21ImageToVideoPipeline(zeroImageValues: false) : null;
        using var pipeline = WanPipeline.Load(i2v?.Path ?? Fixtures.Path("wan_pipeline", "pipeline"), ComputeOptions.Cpu32);
        var request = WanPipelineParityTests.FixtureRequest(torch.randn(new long[] { 2, 4, 3, 4, 6 }, generator: new Generator(8))) with { Steps = 2 };
        if (i2v is not null) request = request with { Image = torch.rand(new long[] { 1, 3, 32, 48 }, generator: new Generator(5)) };
        string folder = Path.Combine(Path.GetTempPath(), "vditlens-explorer-" + Guid.NewGuid().ToString("N"));
        try
        {
            var recorder = new CallRecorder(step: 1);
            using var attached = pipeline.Seam.Attach(recorder);
            var options = new ExplorerOptions { Steps = new[] { 1 } };
            ExplorerRun.GenerateReport(pipeline, request, options, folder).Video.Dispose();

            using var saved = SafeTensorsFile.Open(Path.Combine(folder, ExplorerWriter.Safetensors));
            var document = ExplorerData(folder);
            var names = document["sites"]!.AsArray().Select(s => s!.GetValue<string>()).ToList();
            var crossSites = pipeline.Sites.Where(s => s.Kind == AttentionKind.Cross).Select(s => s.Name).ToArray();
            Assert.Equal(i2v is null ? 2 : 4, crossSites.Length);
            Assert.All(crossSites, s => Assert.Contains(s, names)); // cross sites are captured by default
            var textTokens = document["textTokens"]!.AsArray().Select(r => r!.AsArray().Select(t => t!.GetValue<string>()).ToArray()).ToArray();
            foreach (string site in crossSites)
            {
                var info = document["siteInfo"]![names.IndexOf(site)]!;
                bool image = site.EndsWith(".image", StringComparison.Ordinal);
                Assert.Equal(("cross", false, image), (info["kind"]!.GetValue<string>(), info["videoKeys"]!.GetValue<bool>(), info["imageKeys"]!.GetValue<bool>()));
                Assert.DoesNotContain($"{site}.step1.frame_map", saved.Names);
                Assert.DoesNotContain(ExplorerWriter.HeadRowsKey(site, 1), saved.Names);

                var calls = recorder.Calls.Where(c => c.Site == site).OrderBy(c => c.Branch == "uncond" ? 1 : 0).ToArray();
                using var q = torch.cat(calls.Select(c => c.Q).ToArray(), 0);
                using var k = torch.cat(calls.Select(c => c.K).ToArray(), 0);
                using var text = saved.Load(ExplorerWriter.TextHeadRowsKey(site, 1)); // [B, H, Q, T]
                using var queries = saved.Load($"{site}.row_queries");
                long t = k.shape[2];
                Assert.Equal(image ? 17 : request.MaxSequenceLength, t);
                Assert.Equal(new[] { q.shape[0], q.shape[1], queries.shape[0], t }, text.shape);
                if (!image) Assert.All(textTokens, row => Assert.Equal(t, row.Length));

                // Query positions: the frame-major grid of patch cells of the video queries (Wan's latents: 3 frames of 2 × 3 patches).
                var cells = options.QueryCells(new VideoGrid(3, 2, 3));
                Assert.Equal(cells.Select(c => ((long)c.Frame * 2 + c.Y) * 3 + c.X).ToArray(), queries.data<long>().ToArray());

                var logits = torch.matmul(q.index_select(2, queries), k.transpose(-2, -1)) * calls[0].Scale; // [B, H, Q, T]
                var expected = logits.softmax(-1);
                AssertClose(expected, text, site, "per head");
                using (var mean = saved.Load(ExplorerWriter.TextRowsKey(site, 1))) AssertClose(expected.mean(new long[] { 1 }), mean, site, "head mean");
            }

            // Each batch row's text keys carry the tokens of its prompt (cond rows) or of the negative prompt (uncond rows), padding marked.
            var tokenizer = pipeline.Tokenizer;
            Assert.Equal(2 * request.Prompts.Count, textTokens.Length);
            for (int b = 0; b < textTokens.Length; b++)
            {
                string prompt = b < request.Prompts.Count ? request.Prompts[b] : request.NegativePrompt;
                var ids = ((UnigramTokenizer)tokenizer).EncodeIds(PromptCleaner.Clean(prompt), request.MaxSequenceLength);
                Assert.Equal(tokenizer.TokenTexts(ids.Select(i => (long)i).ToArray()), textTokens[b].Take(ids.Length));
                Assert.All(textTokens[b].Skip(ids.Length), s => Assert.Equal(TokenText.Padding, s));
                Assert.Equal("</s>", textTokens[b][ids.Length - 1]);
            }
        }
        finally
        {
            try { Directory.Delete(folder, true); } catch (IOException) { }
        }
    }

    /// <summary>The document the data script assigns to window.VDITLENS_EXPLORER.</summary>
    internal static JsonObject ExplorerData(string folder)
    {
        string script = File.ReadAllText(Path.Combine(folder, ExplorerWriter.DataScript));
        const string prefix = "window.VDITLENS_EXPLORER = ";
        Assert.StartsWith(prefix, script);
        return JsonNode.Parse(script[prefix.Length..].TrimEnd().TrimEnd(';'))!.AsObject();
    }

    private static void AssertClose(Tensor expected, Tensor actual, string site, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double error = (expected - actual.to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(error < Tolerance, $"{site}, {what}: largest difference {error:E2} from the float64 reference");
    }
}
