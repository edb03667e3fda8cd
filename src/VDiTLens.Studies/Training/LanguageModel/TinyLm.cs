using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Models.Llama;
using static TorchSharp.torch;

namespace VDiTLens.Training.LanguageModel;

/// <summary>The tiny causal LM: the repository's <see cref="LlamaForCausalLM"/> over an <see cref="ITokenLanguage"/>'s vocabulary.</summary>
public static class TinyLm
{
    /// <summary>
    /// A freshly initialised model as transformers' <c>_init_weights</c> does it: linear and embedding weights
    /// ~ N(0, <paramref name="initializerRange"/>²), biases 0, RMSNorm gains 1; drawn in parameter-name order from
    /// <paramref name="seed"/>, so the same seed gives the same model in every process.
    /// </summary>
    public static LlamaForCausalLM Create(TinyLmShape shape, int vocabularySize, long seed, double initializerRange, Device device)
    {
        var lm = new LlamaForCausalLM(shape.Config(vocabularySize), device, ScalarType.Float32);
        var generator = new Generator((ulong)seed);
        using var _ = torch.no_grad();
        foreach (var (name, p) in NamedParameters(lm))
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(1);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else p.copy_(torch.randn(p.shape, generator: generator) * initializerRange);
        }
        return lm;
    }

    /// <summary>Trainable parameters by their transformers name, in name order.</summary>
    public static IReadOnlyList<(string Name, Parameter Parameter)> NamedParameters(LlamaForCausalLM lm) =>
        lm.named_parameters().OrderBy(p => p.name, StringComparer.Ordinal).Select(p => (p.name, p.parameter)).ToList();

    /// <summary>Mean next-token cross-entropy (nats) of ids [B, L]: position t predicts token t + 1.</summary>
    public static Tensor Loss(LlamaForCausalLM lm, Tensor ids)
    {
        using var scope = torch.NewDisposeScope();
        var logits = lm.Forward(ids);
        long l = ids.shape[1];
        var predicted = logits.narrow(1, 0, l - 1).reshape(-1, logits.shape[2]);
        var target = ids.narrow(1, 1, l - 1).reshape(-1).to(logits.device);
        return nn.functional.cross_entropy(predicted, target).MoveToOuterDisposeScope();
    }
}
