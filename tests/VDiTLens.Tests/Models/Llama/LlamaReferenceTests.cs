using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Llama;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Llama;

/// <summary>
/// The Llama decoder against a naive float64 implementation written here from the architecture's definition (no
/// transformers reference is available offline): per-head loops, explicit GQA head mapping, explicit causal loops.
/// </summary>
public sealed class LlamaReferenceTests
{
    internal static JsonObject TinyConfig(bool tied) => new()
    {
        ["architectures"] = new JsonArray("LlamaForCausalLM"), ["model_type"] = "llama", ["vocab_size"] = 37, ["hidden_size"] = 24,
        ["intermediate_size"] = 40, ["num_hidden_layers"] = 2, ["num_attention_heads"] = 4, ["num_key_value_heads"] = 2,
        ["head_dim"] = 6, ["rms_norm_eps"] = 1e-5, ["rope_theta"] = 500.0, ["hidden_act"] = "silu", ["tie_word_embeddings"] = tied,
        ["rope_scaling"] = null,
    };

    internal static string WriteRandom(JsonObject config, bool tied)
    {
        string dir = Path.Combine(Path.GetTempPath(), "vditlens-llama-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        torch.manual_seed(3);
        using var lm = new LlamaForCausalLM(LlamaConfig.Read(ModelFolder.Open(dir)), torch.CPU, ScalarType.Float64);
        var state = lm.state_dict();
        using (torch.no_grad())
            foreach (var (name, t) in state)
                if (name.Contains("norm")) t.copy_(1 + 0.3 * torch.randn_like(t));
        var saved = state.ToDictionary(kv => kv.Key, kv => kv.Value);
        if (tied) saved["lm_head.weight"] = saved["model.embed_tokens.weight"]; // as transformers saves tied heads
        SafeTensorsWriter.Save(Path.Combine(dir, "model.safetensors"), saved);
        return dir;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Logits_match_a_naive_float64_decoder(bool tied)
    {
        TorchRuntime.Initialise();
        string dir = WriteRandom(TinyConfig(tied), tied);
        try
        {
            using var lm = LlamaForCausalLM.Load(dir, new ComputeOptions(torch.CPU, ScalarType.Float64, 0));
            var ids = torch.tensor(new long[,] { { 1, 5, 9, 2, 36, 0, 7 }, { 3, 3, 3, 8, 1, 4, 11 } });
            using var actual = lm.Forward(ids);
            using var weights = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors"));
            var w = weights.LoadAll(torch.CPU);
            using var expected = NaiveLogits(w, ids, tied, heads: 4, kvHeads: 2, headDim: 6, layers: 2, eps: 1e-5, theta: 500.0);
            double error = (actual - expected).norm().item<double>() / expected.norm().item<double>();
            // float64 throughout except the float32 rotary tables (cos/sin may differ from the reference's rounding by 1 ulp)
            Assert.True(error < 1e-8, $"relative error {error:E2}");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Attention_goes_through_the_seam_causally_with_a_text_layout()
    {
        TorchRuntime.Initialise();
        string dir = WriteRandom(TinyConfig(false), false);
        try
        {
            using var lm = LlamaForCausalLM.Load(dir, ComputeOptions.Cpu32);
            var mass = new ReceivedMass();
            using var probe = lm.Seam.Attach(new AttentionMapProbe(new[] { mass }));
            using (torch.no_grad()) lm.Forward(torch.arange(6, dtype: ScalarType.Int64).view(1, 6)).Dispose();
            using var results = new ProbeResults(mass.Results());
            Assert.Equal(new[] { "layers.0.self_attn.received_mass", "layers.1.self_attn.received_mass" }, results.Keys.Select(key => key.ToString()).Order());
            Assert.Equal(TokenKind.Text, mass.Layouts[new ProbeGroup("layers.0.self_attn")].Segments.Single().Kind);
            // Causal: query 0 sees only key 0, so key 0 receives at least 1/6 of all query mass; the last key only from the last query.
            var m = results["layers.0.self_attn.received_mass"];
            Assert.True(m[0, 0, 0].item<float>() >= 1f / 6 - 1e-6);
            Assert.True(m[0, 0, 5].item<float>() <= 1f / 6 + 1e-6);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Straight from the definition, float64, loops over heads and query positions.</summary>
    private static Tensor NaiveLogits(IReadOnlyDictionary<string, Tensor> w, Tensor ids, bool tied, int heads, int kvHeads, int headDim,
        int layers, double eps, double theta)
    {
        long b = ids.shape[0], l = ids.shape[1];
        Tensor W(string n) => w[n].to(ScalarType.Float64);
        Tensor Rms(Tensor x, Tensor g) => g * x / (x.square().mean(new long[] { -1 }, keepdim: true) + eps).sqrt();
        var x = W("model.embed_tokens.weight").index_select(0, ids.flatten()).view(b, l, -1);
        // rotary: position p, pair i (first half index i, second half index i + d/2) rotated by p·θ^(−2i/d); transformers
        // defines the frequencies, angles and their cos/sin in float32 even for float64 models, so round them alike.
        var cos = new double[l, headDim / 2];
        var sin = new double[l, headDim / 2];
        for (int p = 0; p < l; p++)
            for (int i = 0; i < headDim / 2; i++)
            {
                float frequency = (float)(1.0 / (float)Math.Pow(theta, (float)(2 * i) / headDim));
                float angleF = p * frequency;
                cos[p, i] = (float)Math.Cos(angleF);
                sin[p, i] = (float)Math.Sin(angleF);
            }
        Tensor Rotate(Tensor t) // t [L, D] for one head
        {
            var r = t.clone();
            for (int p = 0; p < l; p++)
                for (int i = 0; i < headDim / 2; i++)
                {
                    double a = t[p, i].item<double>(), c = t[p, i + headDim / 2].item<double>();
                    r[p, i] = a * cos[p, i] - c * sin[p, i];
                    r[p, i + headDim / 2] = c * cos[p, i] + a * sin[p, i];
                }
            return r;
        }
        for (int layer = 0; layer < layers; layer++)
        {
            string pre = $"model.layers.{layer}.";
            var h = Rms(x, W(pre + "input_layernorm.weight"));
            var q = torch.matmul(h, W(pre + "self_attn.q_proj.weight").t());
            var k = torch.matmul(h, W(pre + "self_attn.k_proj.weight").t());
            var v = torch.matmul(h, W(pre + "self_attn.v_proj.weight").t());
            var attn = torch.zeros(b, l, heads * headDim, dtype: ScalarType.Float64);
            for (int bi = 0; bi < b; bi++)
                for (int head = 0; head < heads; head++)
                {
                    int kvHead = head / (heads / kvHeads);
                    var qh = Rotate(q[bi, .., (head * headDim)..((head + 1) * headDim)]);
                    var kh = Rotate(k[bi, .., (kvHead * headDim)..((kvHead + 1) * headDim)]);
                    var vh = v[bi, .., (kvHead * headDim)..((kvHead + 1) * headDim)];
                    for (int p = 0; p < l; p++)
                    {
                        var scores = torch.matmul(kh[..(p + 1)], qh[p]) / Math.Sqrt(headDim);
                        var weights = scores.softmax(0);
                        attn[bi, p, (head * headDim)..((head + 1) * headDim)] = torch.matmul(weights, vh[..(p + 1)]);
                    }
                }
            x = x + torch.matmul(attn, W(pre + "self_attn.o_proj.weight").t());
            h = Rms(x, W(pre + "post_attention_layernorm.weight"));
            var gate = torch.matmul(h, W(pre + "mlp.gate_proj.weight").t());
            var up = torch.matmul(h, W(pre + "mlp.up_proj.weight").t());
            x = x + torch.matmul(gate * torch.sigmoid(gate) * up, W(pre + "mlp.down_proj.weight").t());
        }
        x = Rms(x, W("model.norm.weight"));
        var head2 = tied ? W("model.embed_tokens.weight") : W("lm_head.weight");
        return torch.matmul(x, head2.t());
    }
}
