using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Text;

/// <summary>
/// The CLIP vision tower against a dense float64 computation written out here (patches as a matrix product, plain
/// softmax attention without mask, pre-norm layers); its layers are the text tower's, which ClipTextModelParityTests
/// pins against transformers. Loading takes checkpoints with and without the <c>vision_model.</c> prefix.
/// </summary>
public sealed class ClipVisionModelTests
{
    public static readonly ClipVisionConfig Tiny = new()
    {
        hidden_size = 24, intermediate_size = 37, num_hidden_layers = 3, num_attention_heads = 4, image_size = 32, patch_size = 8, hidden_act = "gelu",
    };

    public static ClipVisionModel Random(ScalarType dtype, long seed)
    {
        torch.manual_seed(seed);
        var model = new ClipVisionModel(Tiny, torch.CPU, dtype);
        using var _ = torch.no_grad();
        foreach (var (name, p) in model.named_parameters())
            p.copy_(torch.randn(p.shape, dtype: dtype) * (name.Contains("layer_norm") || name.Contains("layrnorm") ? 0.1 : 0.2) + (name.EndsWith("norm1.weight") || name.EndsWith("norm2.weight") || name.EndsWith("layrnorm.weight") ? 1 : 0));
        return model;
    }

    private static Tensor Dense(ClipVisionModel model, Tensor pixels, int layers)
    {
        var v = model.vision_model;
        var c = model.Config;
        long b = pixels.shape[0], side = c.PatchesPerSide, p = c.patch_size, d = c.hidden_size, heads = c.num_attention_heads;
        var patches = pixels.view(b, 3, side, p, side, p).permute(0, 2, 4, 1, 3, 5).reshape(b, side * side, 3 * p * p);
        var tokens = patches.matmul(v.embeddings.patch_embedding.weight!.reshape(d, -1).t());
        var x = torch.cat(new[] { v.embeddings.class_embedding.view(1, 1, d).expand(b, 1, d), tokens }, 1) + v.embeddings.position_embedding.weight!.unsqueeze(0);
        Tensor Norm(Tensor t, TorchSharp.Modules.LayerNorm n)
        {
            var centred = t - t.mean(new long[] { -1 }, keepdim: true);
            return centred / (centred.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-5).sqrt() * n.weight! + n.bias!;
        }
        Tensor Lin(Tensor t, TorchSharp.Modules.Linear l) => t.matmul(l.weight!.t()) + l.bias!;
        x = Norm(x, v.pre_layrnorm);
        for (int i = 0; i < layers; i++)
        {
            var layer = v.encoder.layers[i];
            var h = Norm(x, layer.layer_norm1);
            Tensor Heads(Tensor t) => t.view(b, -1, heads, d / heads).transpose(1, 2);
            var a = torch.softmax(Heads(Lin(h, layer.self_attn.q_proj)).matmul(Heads(Lin(h, layer.self_attn.k_proj)).transpose(-1, -2)) / Math.Sqrt(d / heads), -1)
                .matmul(Heads(Lin(h, layer.self_attn.v_proj))).transpose(1, 2).reshape(b, -1, d);
            x = x + Lin(a, layer.self_attn.out_proj);
            var m = Lin(Norm(x, layer.layer_norm2), layer.mlp.fc1);
            m = m * 0.5 * (1 + torch.special.erf(m / Math.Sqrt(2)));
            x = x + Lin(m, layer.mlp.fc2);
        }
        return x;
    }

    [Fact]
    public void Hidden_states_match_a_dense_float64_computation()
    {
        TorchRuntime.Initialise();
        using var model = Random(ScalarType.Float64, 21);
        var pixels = torch.randn(new long[] { 2, 3, 32, 32 }, dtype: ScalarType.Float64);
        using var _ = torch.no_grad();
        var states = model.HiddenStates(pixels);
        Assert.Equal(4, states.Count);
        for (int layers = 0; layers <= 3; layers++)
        {
            double maxAbs = (states[layers] - Dense(model, pixels, layers)).abs().max().item<double>();
            Assert.True(maxAbs <= 1e-10, $"hidden_states[{layers}]: max abs difference {maxAbs:E3}");
        }
        using var penultimate = model.PenultimateHiddenState(pixels);
        Assert.Equal(0.0, (penultimate - states[2]).abs().max().item<double>());
        Assert.Equal(new long[] { 2, 17, 24 }, penultimate.shape);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Load_reads_checkpoints_with_or_without_the_tower_prefix(bool prefixed)
    {
        TorchRuntime.Initialise();
        string dir = Directory.CreateTempSubdirectory("vditlens-clipv-").FullName;
        try
        {
            using var model = Random(ScalarType.Float32, 22);
            WriteFolder(dir, model, prefixed);
            using var loaded = ClipVisionModel.Load(ModelFolder.Open(dir), ComputeOptions.Cpu32);
            var pixels = torch.randn(1, 3, 32, 32);
            using var a = model.PenultimateHiddenState(pixels);
            using var b = loaded.PenultimateHiddenState(pixels);
            Assert.Equal(0f, (a - b).abs().max().item<float>());
            Assert.Equal(new[] { "vision_model.encoder.layers.0.self_attn", "vision_model.encoder.layers.1.self_attn", "vision_model.encoder.layers.2.self_attn" },
                loaded.Sites.Select(s => s.Name));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>A transformers-style CLIPVisionModel folder: config.json and model.safetensors.</summary>
    internal static void WriteFolder(string dir, ClipVisionModel model, bool prefixed = true)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"),
            "{\"architectures\":[\"CLIPVisionModel\"],\"model_type\":\"clip_vision_model\",\"hidden_size\":24,\"intermediate_size\":37,\"num_hidden_layers\":3," +
            "\"num_attention_heads\":4,\"image_size\":32,\"patch_size\":8,\"hidden_act\":\"gelu\",\"layer_norm_eps\":1e-05,\"projection_dim\":16,\"num_channels\":3}");
        var state = model.state_dict().ToDictionary(kv => prefixed ? kv.Key : kv.Key["vision_model.".Length..], kv => kv.Value.contiguous());
        SafeTensorsWriter.Save(Path.Combine(dir, "model.safetensors"), state);
    }

    [Fact]
    public void Pixel_values_of_the_wrong_size_are_refused()
    {
        TorchRuntime.Initialise();
        using var model = Random(ScalarType.Float32, 23);
        var e = Assert.Throws<VDiTLensException>(() => model.HiddenStates(torch.zeros(1, 3, 48, 32)));
        Assert.Contains("pixel_values must be [batch, 3, 32, 32]", e.Message);
    }
}
