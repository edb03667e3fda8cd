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
/// The shipped models/vditlens-tiny-lm (trained on Bigram-Backcopy, loaded here, never trained in a test) through the
/// causal sink statistics, beside the same architecture at its random initialisation: the positive control of the
/// detector. Pins what was measured (docs/sinks.md): the trained model parks its last layer's heads on the first token
/// (every head above ε = 0.3, α₀ several times its uniform-causal share, the sink's values drained), on its own language
/// and on random ids; the initialised one attends uniformly.
/// </summary>
public sealed class TinyLmSinkTests
{
    private const int Sequences = 32, Length = 64;
    internal static string Folder => Path.Combine(Directory.GetParent(Fixtures.Root)!.Parent!.FullName, "models", "vditlens-tiny-lm");

    private static LlmSinkProfile Measure(LlamaForCausalLM lm, bool language)
    {
        using var ids = language ? TokenLanguages.Ids(TokenLanguages.OfFolder(Folder), 0, Sequences, Length) : LlmSinkProfile.RandomIds(lm.Config.vocab_size, Sequences, Length, 0, BigramBackcopyLanguage.Bos);
        return LlmSinkProfile.Measure(lm, new SinkCriteria(), ids);
    }

    [Fact]
    public void Shipped_tiny_lm_is_small_loads_and_solves_bigram_backcopy()
    {
        long bytes = Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(bytes <= 5L * 1024 * 1024, $"{bytes} bytes");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "config.json")))!;
        Assert.Equal("LlamaForCausalLM", config["architectures"]![0]!.GetValue<string>());
        Assert.Equal(BigramBackcopyLanguage.Bos, config["bos_token_id"]!.GetValue<int>());
        var language = TokenLanguages.OfFolder(Folder);
        Assert.Same(BigramBackcopyLanguage.Instance, language);
        TorchRuntime.Initialise();
        using var lm = LlamaForCausalLM.Load(Folder, ComputeOptions.Cpu32);
        Assert.Equal(language.Tokens.Count, lm.Config.vocab_size);
        // It learnt the language: every backcopy right (an untrained model is at chance, 1 in 65), and the bigram tokens
        // within 0.1 nats of the chain's own entropy there (an untrained model: about 2.5 nats above).
        var evaluation = TinyLmEvaluation.Of(lm, language, 0, TinyLmTrainer.EvaluationSequences, Length);
        Assert.True(evaluation.AnswerAccuracy >= 0.99, $"backcopy accuracy {evaluation.AnswerAccuracy:P1}");
        Assert.InRange(evaluation.FreeLoss - evaluation.FreeEntropy, 0, 0.1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Shipped_tiny_lm_parks_its_last_layer_on_the_first_token(bool language)
    {
        TorchRuntime.Initialise();
        using var lm = LlamaForCausalLM.Load(Folder, ComputeOptions.Cpu32);
        var profile = Measure(lm, language);
        var causal = profile.Causal;
        var last = causal.Layers[^1];
        Assert.All(last.FirstKeyMassPerHead, a => Assert.True(a > causal.Epsilon, $"{last.Site}: a head gives the first token only {a:F3}"));
        Assert.True(last.FirstKeyMass.Low > 3 * last.UniformFirstKeyMass, $"{last.Site}: first-token α {last.FirstKeyMass} vs uniform causal {last.UniformFirstKeyMass:F3}");
        Assert.True(causal.ModelSinkEpsilon.Low >= 0.25, $"model Sink^ε {causal.ModelSinkEpsilon}");
        Assert.All(last.TopKeyPerHead, k => Assert.Equal(0, k));
        // Guo et al.'s value-state drain: the sink's values are much shorter than the other tokens'.
        Assert.True(profile.Norms[^1].ValueRatio < 0.5, $"{last.Site}: |v| sink ÷ other {profile.Norms[^1].ValueRatio:F3}");
        var verdict = SinkVerdict.Of(profile.Layers, "tiny LM");
        Assert.True(verdict.SinkTokens > 0, verdict.Statement);
        Assert.Equal(verdict.SinkTokens, verdict.AtFirstPosition);
    }

    [Fact]
    public void The_same_architecture_at_random_initialisation_attends_uniformly()
    {
        TorchRuntime.Initialise();
        var training = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "training.json")))!;
        var shape = training["shape"].Deserialize<TinyLmShape>()!;
        var options = training["options"].Deserialize<TinyLmOptions>()!;
        using var lm = TinyLm.Create(shape, options.TokenLanguage().Tokens.Count, options.Seed, options.InitializerRange, torch.CPU);
        lm.eval();
        var causal = Measure(lm, language: false).Causal;
        Assert.Equal(0, causal.ModelSinkEpsilon.Value);
        foreach (var layer in causal.Layers)
            Assert.InRange(layer.FirstKeyMass.Value, 0.95 * layer.UniformFirstKeyMass, 1.05 * layer.UniformFirstKeyMass);
    }
}
