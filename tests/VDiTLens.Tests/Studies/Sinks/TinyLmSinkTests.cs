using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.Models.Llama;
using VDiTLens.Runtime;
using VDiTLens.Studies.Sinks;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Training.LanguageModel;

namespace VDiTLens.Tests.Studies.Sinks;

/// <summary>
/// The shipped models/vditlens-tiny-lm (trained, loaded here, never trained in a test) through the causal sink
/// statistics, beside the same architecture at its random initialisation. Pins what was measured (docs/sinks.md): at
/// this training budget no first-token sink has emerged; the first token gets at most about twice its uniform-causal
/// share in any layer, and no head gives it more than ε.
/// </summary>
public sealed class TinyLmSinkTests
{
    private const int Sequences = 32, Length = 64;
    internal static string Folder => Path.Combine(Directory.GetParent(Fixtures.Root)!.Parent!.FullName, "models", "vditlens-tiny-lm");

    private static LlmSinkProfile Measure(LlamaForCausalLM lm, bool language)
    {
        using var ids = language ? TokenLanguage.Ids(0, Sequences, Length) : LlmSinkProfile.RandomIds(lm.Config.vocab_size, Sequences, Length, 0, TokenLanguage.Bos);
        return LlmSinkProfile.Measure(lm, new SinkCriteria(), ids);
    }

    [Fact]
    public void Shipped_tiny_lm_is_small_and_loads_as_a_transformers_llama_folder()
    {
        long bytes = Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(bytes <= 5L * 1024 * 1024, $"{bytes} bytes");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "config.json")))!;
        Assert.Equal("LlamaForCausalLM", config["architectures"]![0]!.GetValue<string>());
        Assert.Equal(TokenLanguage.Bos, config["bos_token_id"]!.GetValue<int>());
        TorchRuntime.Initialise();
        using var lm = LlamaForCausalLM.Load(Folder, ComputeOptions.Cpu32);
        Assert.Equal(TokenLanguage.VocabularySize, lm.Config.vocab_size);
        // It learnt its language: held-out answers mostly right (the untrained model is at chance, about 1 in 30).
        var evaluation = TinyLmEvaluation.Of(lm, 0, 64, Length);
        Assert.True(evaluation.AnswerAccuracy > AnswerAccuracyAtLeast, $"answer accuracy {evaluation.AnswerAccuracy:P1}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Shipped_tiny_lm_has_no_first_token_sink_at_its_training_budget(bool language)
    {
        TorchRuntime.Initialise();
        using var lm = LlamaForCausalLM.Load(Folder, ComputeOptions.Cpu32);
        var profile = Measure(lm, language);
        var causal = profile.Causal;
        Assert.Equal(0, causal.ModelSinkEpsilon.Value);
        foreach (var layer in causal.Layers)
        {
            Assert.True(layer.FirstKeyMassPerHead.Max() < 0.3, $"{layer.Site}: a head gives the first token {layer.FirstKeyMassPerHead.Max():F3}");
            Assert.True(layer.FirstKeyMass.Value < 2 * layer.UniformFirstKeyMass, $"{layer.Site}: first-token α {layer.FirstKeyMass} vs uniform causal {layer.UniformFirstKeyMass:F3}");
        }
        Assert.Equal(0, SinkVerdict.Of(profile.Layers, "tiny LM").SinkTokens);
    }

    [Fact]
    public void The_same_architecture_at_random_initialisation_attends_uniformly()
    {
        TorchRuntime.Initialise();
        var training = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "training.json")))!;
        var shape = training["shape"].Deserialize<TinyLmShape>()!;
        var options = training["options"].Deserialize<TinyLmOptions>()!;
        using var lm = TinyLm.Create(shape, options.Seed, options.InitializerRange, torch.CPU);
        lm.eval();
        var causal = Measure(lm, language: false).Causal;
        Assert.Equal(0, causal.ModelSinkEpsilon.Value);
        foreach (var layer in causal.Layers)
            Assert.InRange(layer.FirstKeyMass.Value, 0.95 * layer.UniformFirstKeyMass, 1.05 * layer.UniformFirstKeyMass);
    }

    private const double AnswerAccuracyAtLeast = 0.5;
}
