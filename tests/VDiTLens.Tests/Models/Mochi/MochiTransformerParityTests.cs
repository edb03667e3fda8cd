using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using VDiTLens.Models.Mochi;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Mochi;

public sealed class MochiTransformerParityTests(ITestOutputHelper log)
{
    private static (MochiTransformer3DModel Model, Dictionary<string, Tensor> Data) Setup(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        var model = TransformerLoader.Load(Fixtures.Path("mochi"), new ComputeOptions(torch.CPU, dtype, 0));
        var data = Fixtures.Load("mochi/inputs_outputs.safetensors");
        return ((MochiTransformer3DModel)model, data);
    }

    private void Check(Tensor actual, Tensor expected, double tolerance, string what)
    {
        log.WriteLine($"{what}: relative L2 {Fixtures.RelativeL2(actual, expected):E2}");
        Fixtures.AssertClose(actual, expected, tolerance, what);
    }

    [Fact]
    public void Rope_and_block_outputs_match_diffusers()
    {
        var (model, data) = Setup(ScalarType.Float64);
        var seen = new List<string>();
        model.Hooks.Observer = (key, value) =>
        {
            using var _ = value;
            // the fixture names block i's streams block_out.{i}.hidden|encoder; the hooks name blocks by their prefix
            key = key.StartsWith("transformer_blocks.", StringComparison.Ordinal) ? "block_out." + key["transformer_blocks.".Length..] : key;
            Check(value, data[key], 1e-7, key);
            seen.Add(key);
        };
        using var _ = torch.no_grad();
        model.Forward(data);
        Assert.Equal(2 + 2 * model.Config.num_layers, seen.Count);
    }

    [Fact]
    public void Attention_probabilities_match_diffusers_per_sample_over_video_and_valid_text()
    {
        var (model, data) = Setup(ScalarType.Float32);
        var recorder = new DenseProbabilityRecorder();
        using var attached = model.Seam.Attach(recorder);
        using var _ = torch.no_grad();
        model.Forward(data);
        Assert.Equal(1 + model.Config.num_layers, recorder.Probabilities.Count);

        Check(recorder.Probabilities["attn.pool.text"], data["attn.pool.text"], 1e-5, "attn.pool.text");
        var mask = data["encoder_attention_mask"];
        long videoTokens = data["block_out.0.hidden"].shape[1];
        for (int layer = 0; layer < model.Config.num_layers; layer++)
        {
            var batched = recorder.Probabilities[$"attn.{layer}.joint"];
            for (int b = 0; b < mask.shape[0]; b++)
            {
                long kept = videoTokens + mask[b].to(ScalarType.Int64).sum().item<long>();
                var sample = batched[b..(b + 1), .., ..(int)kept, ..(int)kept];
                Check(sample, data[$"attn.{layer}.joint.sample{b}"], 1e-5, $"attn.{layer}.joint.sample{b}");
                // Padded text keys get exactly zero probability.
                Assert.Equal(0f, batched[b, .., .., (int)kept..].abs().sum().item<float>());
            }
        }
    }

    [Fact]
    public void Seam_sees_the_diffusers_q_k_v_for_the_valid_tokens_and_the_true_layout()
    {
        var (model, data) = Setup(ScalarType.Float64);
        var capture = new CallCapture("transformer_blocks.0.attn1");
        using var attached = model.Seam.Attach(capture);
        using var _ = torch.no_grad();
        model.Forward(data);
        var mask = data["encoder_attention_mask"];
        long videoTokens = data["block_out.0.hidden"].shape[1];
        for (int b = 0; b < mask.shape[0]; b++)
        {
            long kept = videoTokens + mask[b].to(ScalarType.Int64).sum().item<long>();
            foreach (var (name, t) in new[] { ("q", capture.Q!), ("k", capture.K!), ("v", capture.V!) })
                Check(t[b..(b + 1), .., ..(int)kept], data[$"qkv.0.joint.sample{b}.{name}"], 1e-7, $"qkv.0.joint.sample{b}.{name}");
        }
        var layout = capture.Call!.QueryLayout;
        Assert.Equal(TokenKind.Video, layout.Segments[0].Kind);
        Assert.Equal(videoTokens, layout.Segments[0].Length);
        Assert.Equal(TokenKind.Text, layout.Segments[1].Kind);
        Assert.NotNull(capture.Valid);
        Assert.Equal(mask.to(ScalarType.Int64).sum().item<long>() + mask.shape[0] * videoTokens, capture.Valid!.to(ScalarType.Int64).sum().item<long>());
    }

    [Fact]
    public void Text_mask_with_padding_before_real_tokens_is_rejected()
    {
        var (model, data) = Setup(ScalarType.Float32);
        var inputs = new Dictionary<string, Tensor>(data) { ["encoder_attention_mask"] = data["encoder_attention_mask"].flip(1) };
        var error = Assert.Throws<VDiTLensException>(() => model.Forward(inputs));
        Assert.Contains("encoder_attention_mask", error.Message);
    }

    private sealed class CallCapture(string site) : IAttentionProbe
    {
        public Tensor? Q, K, V, Valid;
        public AttentionCall? Call;
        private static Tensor Keep(Tensor t) => t.detach().clone().DetachFromDisposeScope();
        public bool Accepts(AttentionCall call) => Call is null && call.Site.Name == site;
        public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
        {
            Call = call;
            (Q, K, V) = (Keep(q), Keep(k), Keep(v));
            Valid = call.QueryLayout.Valid is { } valid ? Keep(valid) : null;
        }
    }
}
