using TorchSharp;
using VDiTLens.Models.Llama;
using static TorchSharp.torch;

namespace VDiTLens.Training.LanguageModel;

/// <summary>
/// A trained tiny LM on held-out sequences of its language (drawn from step −1 of the seed, never a training step).
/// </summary>
/// <param name="Loss">Mean next-token loss (nats) over all positions.</param>
/// <param name="AnswerAccuracy">Share of the rule-fixed tokens (answers; backcopies) that greedy decoding gets right given the true prefix.</param>
/// <param name="FreeLoss">Mean loss on the tokens the rules leave random (positions 2 onwards that are not answers: the bigram tokens).</param>
/// <param name="FreeEntropy">The language's own entropy at those tokens (its <see cref="ITokenLanguage.Entropies"/>, averaged): the floor of <paramref name="FreeLoss"/>; NaN when the language does not define it.</param>
public sealed record TinyLmEvaluation(int Sequences, int Length, double Loss, double AnswerAccuracy, double FreeLoss = double.NaN, double FreeEntropy = double.NaN)
{
    public static TinyLmEvaluation Of(LlamaForCausalLM lm, ITokenLanguage language, long seed, int sequences, int length)
    {
        var (ids, answer) = TokenLanguages.Batch(language, seed, -1, sequences, length);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        bool training = lm.training;
        lm.eval();
        var input = torch.tensor(ids, new long[] { sequences, length });
        var logits = lm.Forward(input);
        double loss = TinyLm.Loss(lm, input).item<float>();
        if (training) lm.train();
        var predicted = logits.argmax(-1).cpu().data<long>().ToArray();
        // logp[s, t] = log p(token t + 1 | tokens ≤ t)
        var logp = logits.narrow(1, 0, length - 1).to(ScalarType.Float64).log_softmax(-1)
            .gather(-1, input.narrow(1, 1, length - 1).to(logits.device).unsqueeze(-1)).squeeze(-1).cpu().data<double>().ToArray();
        int right = 0, total = 0, free = 0;
        double freeLoss = 0, freeEntropy = 0;
        for (int s = 0; s < sequences; s++)
        {
            var entropies = language.Entropies(ids[(s * length)..((s + 1) * length)]);
            for (int t = 1; t < length; t++)
            {
                if (answer[s * length + t])
                {
                    total++;
                    if (predicted[s * length + t - 1] == ids[s * length + t]) right++;
                }
                else if (t >= 2)
                {
                    free++;
                    freeLoss -= logp[s * (length - 1) + t - 1];
                    freeEntropy += entropies?[t] ?? double.NaN;
                }
            }
        }
        return new TinyLmEvaluation(sequences, length, loss, total == 0 ? double.NaN : (double)right / total,
            free == 0 ? double.NaN : freeLoss / free, free == 0 ? double.NaN : freeEntropy / free);
    }
}
