using TorchSharp;
using VDiTLens.Models.Llama;
using static TorchSharp.torch;

namespace VDiTLens.Training.LanguageModel;

/// <summary>
/// A trained tiny LM on held-out sequences of its language (drawn from step −1 of the seed, never a training step):
/// the mean next-token loss over all positions and the share of answer tokens (everything after a separator, the end
/// token included) that greedy decoding gets right given the true prefix.
/// </summary>
public sealed record TinyLmEvaluation(int Sequences, int Length, double Loss, double AnswerAccuracy)
{
    public static TinyLmEvaluation Of(LlamaForCausalLM lm, long seed, int sequences, int length)
    {
        var (ids, answer) = TokenLanguage.Batch(seed, -1, sequences, length);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        bool training = lm.training;
        lm.eval();
        var input = torch.tensor(ids, new long[] { sequences, length });
        var logits = lm.Forward(input);
        double loss = TinyLm.Loss(lm, input).item<float>();
        if (training) lm.train();
        var predicted = logits.argmax(-1).cpu().data<long>().ToArray();
        int right = 0, total = 0;
        for (int s = 0; s < sequences; s++)
            for (int t = 1; t < length; t++)
                if (answer[s * length + t])
                {
                    total++;
                    if (predicted[s * length + t - 1] == ids[s * length + t]) right++;
                }
        return new TinyLmEvaluation(sequences, length, loss, total == 0 ? double.NaN : (double)right / total);
    }
}
