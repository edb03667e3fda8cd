using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Text;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Text;

public sealed class ClipTextModelParityTests(ITestOutputHelper output) : IDisposable
{
    private const string Fixture = "clip_text";
    private readonly string _dir = Directory.CreateTempSubdirectory("clip").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (ClipTextModel Model, Dictionary<string, Tensor> Data) Setup(ScalarType dtype = ScalarType.Float32)
    {
        TorchRuntime.Initialise();
        var model = (ClipTextModel)TextEncoderLoader.Load(Fixtures.Path(Fixture), new ComputeOptions(torch.CPU, dtype, 0));
        return (model, Fixtures.Load($"{Fixture}/inputs_outputs.safetensors"));
    }

    /// <summary>A copy of the fixture folder with config.json edited.</summary>
    private string FolderWith(Action<JsonObject> edit)
    {
        var config = ModelFolder.ReadJsonObject(Fixtures.Path(Fixture, "config.json"));
        edit(config);
        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJsonString());
        File.Copy(Fixtures.Path(Fixture, "model.safetensors"), Path.Combine(_dir, "model.safetensors"), overwrite: true);
        return _dir;
    }

    private double Check(Tensor actual, Tensor expected, double tolerance, string what)
    {
        double error = Fixtures.RelativeL2(actual, expected);
        output.WriteLine($"{what}: relative L2 {error:E3}");
        Assert.True(error <= tolerance, $"{what}: relative L2 error {error:E3} exceeds {tolerance:E1}");
        return error;
    }

    [Fact]
    public void Parameter_names_are_the_checkpoint_names_under_text_model()
    {
        var (model, _) = Setup();
        var names = model.state_dict().Keys.OrderBy(n => n, StringComparer.Ordinal).ToArray();
        using var weights = Checkpoint.Open(Fixtures.Path(Fixture));
        // transformers 5 saved the fixture without the text_model. prefix that the released checkpoints carry.
        Assert.Equal(weights.Names.Select(n => "text_model." + n).OrderBy(n => n, StringComparer.Ordinal).ToArray(), names);
        Assert.Contains("text_model.encoder.layers.1.self_attn.out_proj.weight", names);
        Assert.Equal("CLIPTextModel", model.ClassName);
        Assert.Equal(32, model.HiddenSize);
    }

    [Fact]
    public void Last_hidden_state_hidden_states_and_pooler_output_match_transformers()
    {
        var (model, data) = Setup();
        using var _ = torch.no_grad();
        using var result = model.Forward(data["input_ids"], outputHiddenStates: true);
        Check(result.LastHiddenState, data["last_hidden_state"], 1e-5, "last_hidden_state");
        Check(result.PoolerOutput, data["pooler_output"], 1e-5, "pooler_output");
        Assert.Equal(3, result.HiddenStates.Count);
        for (int i = 0; i < result.HiddenStates.Count; i++)
            Check(result.HiddenStates[i], data[$"hidden_states.{i}"], 1e-5, $"hidden_states.{i}");
        Check(model.Encode(data["input_ids"], torch.ones_like(data["input_ids"])), data["last_hidden_state"], 1e-5, "Encode with an all-ones mask");
    }

    [Fact]
    public void Float64_matches_transformers_far_tighter()
    {
        var (model, data) = Setup(ScalarType.Float64);
        using var _ = torch.no_grad();
        using var result = model.Forward(data["input_ids"]);
        // The float64 reference is stored rounded to float32 (~3e-8 relative).
        Check(result.LastHiddenState, data["last_hidden_state"], 1e-7, "float64 last_hidden_state");
        Check(result.PoolerOutput, data["pooler_output"], 1e-7, "float64 pooler_output");
    }

    [Fact]
    public void Attention_goes_through_the_seam_causally_and_matches_a_naive_softmax()
    {
        var (model, data) = Setup(ScalarType.Float64);
        var recorder = new DenseProbabilityRecorder();
        using var attached = model.Seam.Attach(recorder);
        using var _ = torch.no_grad();
        using var result = model.Forward(data["input_ids"]);
        Assert.Equal(new[] { "attentions.0", "attentions.1" }, recorder.Probabilities.Keys.Order().ToArray());
        Assert.Equal("text_model.encoder.layers.1.self_attn", model.Sites[1].Name);
        for (int i = 0; i < 2; i++)
        {
            var expected = NaiveProbabilities(model, i, data[$"hidden_states.{i}"].to(ScalarType.Float64));
            var p = recorder.Probabilities[$"attentions.{i}"];
            Assert.Equal(0.0, p.to(ScalarType.Float64).triu(1).abs().max().item<double>());
            Check(p, expected, 1e-6, $"attentions.{i}");
        }
    }

    /// <summary>softmax(q kᵀ/√d + causal) written out from the layer's weights, in float64.</summary>
    private static Tensor NaiveProbabilities(ClipTextModel model, int layer, Tensor x)
    {
        var l = model.text_model.encoder.layers[layer];
        var c = model.Config;
        var mean = x.mean(new long[] { -1 }, keepdim: true);
        var variance = (x - mean).pow(2).mean(new long[] { -1 }, keepdim: true);
        var normed = (x - mean) / (variance + c.layer_norm_eps).sqrt() * l.layer_norm1.weight! + l.layer_norm1.bias!;
        long b = x.shape[0], n = x.shape[1];
        Tensor Heads(TorchSharp.Modules.Linear proj) =>
            (torch.matmul(normed, proj.weight!.t()) + proj.bias!).view(b, n, c.num_attention_heads, c.HeadDim).transpose(1, 2);
        var logits = torch.matmul(Heads(l.self_attn.q_proj), Heads(l.self_attn.k_proj).transpose(2, 3)) / Math.Sqrt(c.HeadDim);
        var future = torch.ones(n, n, dtype: ScalarType.Bool).triu(1);
        return logits.masked_fill(future, double.NegativeInfinity).softmax(-1);
    }

    [Fact]
    public void Right_padding_leaves_the_real_tokens_unchanged_and_masks_padding_keys()
    {
        var (model, data) = Setup(ScalarType.Float64);
        var ids = data["input_ids"];
        var mask = torch.ones_like(ids);
        mask[0, 12..] = torch.tensor(0L);
        using var _ = torch.no_grad();
        var plain = model.Encode(ids, torch.ones_like(ids));
        var recorder = new DenseProbabilityRecorder();
        using var attached = model.Seam.Attach(recorder);
        var masked = model.Encode(ids, mask);
        // Causal attention never looks right, so right padding cannot change the real tokens.
        Check(masked[0, ..12], plain[0, ..12], 1e-12, "real tokens of a right-padded row");
        Check(masked[1], plain[1], 1e-12, "unpadded row");
        var p = recorder.Probabilities["attentions.0"];
        // A padded query attends only itself among the padding keys.
        Assert.Equal(0.0, p[0, .., 20, 12..20].abs().max().item<float>());
        Assert.Equal(1.0, p[0, .., 20, ..12].sum(-1).add(p[0, .., 20, 20]).min().item<float>(), 5);
    }

    [Fact]
    public void Eos_pooling_takes_the_first_eos_row_when_eos_token_id_is_not_the_legacy_2()
    {
        TorchRuntime.Initialise();
        var data = Fixtures.Load($"{Fixture}/inputs_outputs.safetensors");
        // 98 is the fixture's EOS: its first occurrence is where the legacy argmax pooling lands too.
        var model = (ClipTextModel)TextEncoderLoader.Load(FolderWith(c => c["eos_token_id"] = 98), ComputeOptions.Cpu32);
        Assert.False(model.Config.LegacyPooling);
        using var _ = torch.no_grad();
        using var result = model.Forward(data["input_ids"]);
        Check(result.PoolerOutput, data["pooler_output"], 1e-5, "pooler_output with eos_token_id 98");
        // With an id that never occurs, transformers' argmax of an all-false row picks position 0.
        var other = (ClipTextModel)TextEncoderLoader.Load(FolderWith(c => c["eos_token_id"] = 97), ComputeOptions.Cpu32);
        var ids = data["input_ids"].masked_fill(data["input_ids"].eq(97), 96);
        using var r2 = other.Forward(ids);
        Check(r2.PoolerOutput, r2.LastHiddenState[.., 0], 0, "pooler_output without EOS");
    }

    [Theory]
    [InlineData("hidden_act", "\"tanh\"")]
    [InlineData("model_type", "\"clip_vision_model\"")]
    [InlineData("hidden_size", "30")]
    public void Unsupported_config_values_are_refused_naming_the_field(string field, string value)
    {
        TorchRuntime.Initialise();
        var folder = FolderWith(c => c[field] = JsonNode.Parse(value));
        var e = Assert.Throws<VDiTLensException>(() => TextEncoderLoader.Load(folder, ComputeOptions.Cpu32));
        Assert.Contains($"'{field}'", e.Message);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_config_are_reported_by_name()
    {
        TorchRuntime.Initialise();
        var folder = FolderWith(c => { c["vocab_size"] = 100; c["intermediate_size"] = 40; });
        var e = Assert.Throws<VDiTLensException>(() => TextEncoderLoader.Load(folder, ComputeOptions.Cpu32));
        Assert.Contains("text_model.embeddings.token_embedding.weight expected [100, 32] found [99, 32]", e.Message);
        Assert.Contains("text_model.encoder.layers.1.mlp.fc2.weight", e.Message);
    }

    [Fact]
    public void Too_many_tokens_are_refused()
    {
        var (model, _) = Setup();
        var e = Assert.Throws<VDiTLensException>(() => model.Forward(torch.zeros(1, 78, dtype: ScalarType.Int64)));
        Assert.Contains("max_position_embeddings", e.Message);
    }
}
