using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Llama;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>
/// One sequence's attention probabilities (query × key, as applied: future keys 0) of the head with the largest
/// first-token share α₀ in a <see cref="LlmSinkProfile"/>: the picture in which a first-token sink is a bright first column.
/// </summary>
/// <param name="Ids">The sequence's token ids (its first <see cref="MaxTokens"/> at most; the model is causal, so a prefix's pattern is the full sequence's).</param>
/// <param name="FirstTokenShare">The head's α₀ in the profile (mean over its sequences).</param>
public sealed record LlmAttentionPattern(string Site, int Layer, int Head, double FirstTokenShare, long[] Ids, double[][] Probabilities)
{
    public const int MaxTokens = 32;

    /// <summary>The head with the largest α₀ in <paramref name="profile"/>, on the first sequence of <paramref name="ids"/> [sequences, length].</summary>
    public static LlmAttentionPattern Of(LlamaForCausalLM lm, LlmSinkProfile profile, Tensor ids)
    {
        var (layer, head, _) = profile.Causal.Layers
            .SelectMany((l, i) => l.FirstKeyMassPerHead.Select((a, h) => (Index: i, Head: h, Alpha: a)))
            .MaxBy(x => x.Alpha);
        var site = lm.model.Sites[layer];
        using var scope = torch.NewDisposeScope();
        var sequence = ids.narrow(0, 0, 1).narrow(1, 0, Math.Min(MaxTokens, ids.shape[1]));
        using var recorder = new DenseProbabilityRecorder(maxBytes: 64L << 20);
        using (lm.Seam.Attach(recorder))
        using (torch.no_grad())
            lm.Forward(sequence).Dispose();
        var p = recorder.Probabilities[site.ReferenceKey][0, head].to(ScalarType.Float64).cpu(); // [T, T]
        int t = (int)p.shape[0];
        var flat = p.contiguous().data<double>().ToArray();
        var rows = Enumerable.Range(0, t).Select(q => flat.AsSpan(q * t, t).ToArray()).ToArray();
        return new LlmAttentionPattern(site.Name, profile.Causal.Layers[layer].Layer, head, profile.Causal.Layers[layer].FirstKeyMassPerHead[head],
            sequence.cpu().data<long>().ToArray(), rows);
    }
}
