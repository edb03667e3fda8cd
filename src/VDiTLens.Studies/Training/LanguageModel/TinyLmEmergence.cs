using VDiTLens.Models.Llama;
using VDiTLens.Studies.Sinks;

namespace VDiTLens.Training.LanguageModel;

/// <summary>
/// The tiny LM's emergence curve, in the video trainer's <c>emergence.csv</c> format (<see cref="EmergencePoint"/>):
/// at a step, the causal sink statistics (<see cref="LlmSinkProfile"/>, default <see cref="SinkCriteria"/>) on
/// <see cref="Sequences"/> held-out sequences of the language and the held-out evaluation. Per layer (kind
/// <c>causal</c>): <c>first_token_share</c> (α₀, heads averaged) with its 95 % bootstrap interval over sequences
/// (<c>_low</c>, <c>_high</c>), <c>first_token_uniform</c> (its uniform-causal value), <c>max_head_share</c> (the
/// largest head's α₀) and <c>epsilon_share</c> (Sink^ε, share of heads above ε, with its interval). Whole model (layer
/// −1, kind <c>model</c>): <c>sink_epsilon</c> (Gu's model-level Sink^ε, with its interval), <c>loss</c>,
/// <c>answer_accuracy</c>, <c>free_loss</c> and <c>free_entropy</c> (<see cref="TinyLmEvaluation"/>).
/// </summary>
public static class TinyLmEmergence
{
    public const string FileName = EmergenceRecorder.FileName;
    public const int Sequences = 32;

    public static IReadOnlyList<EmergencePoint> Record(string csvPath, int step, LlamaForCausalLM lm, ITokenLanguage language, long seed, int length)
    {
        bool training = lm.training;
        lm.eval();
        LlmSinkProfile profile;
        using (var ids = TokenLanguages.Ids(language, seed, Sequences, length))
            profile = LlmSinkProfile.Measure(lm, new SinkCriteria(), ids);
        var evaluation = TinyLmEvaluation.Of(lm, language, seed, TinyLmTrainer.EvaluationSequences, length);
        if (training) lm.train();
        var points = new List<EmergencePoint>();
        foreach (var layer in profile.Causal.Layers)
        {
            points.Add(new(step, layer.Layer, "causal", "first_token_share", layer.FirstKeyMass.Value));
            points.Add(new(step, layer.Layer, "causal", "first_token_share_low", layer.FirstKeyMass.Low));
            points.Add(new(step, layer.Layer, "causal", "first_token_share_high", layer.FirstKeyMass.High));
            points.Add(new(step, layer.Layer, "causal", "first_token_uniform", layer.UniformFirstKeyMass));
            points.Add(new(step, layer.Layer, "causal", "max_head_share", layer.FirstKeyMassPerHead.Max()));
            points.Add(new(step, layer.Layer, "causal", "epsilon_share", layer.SinkEpsilon.Value));
            points.Add(new(step, layer.Layer, "causal", "epsilon_share_low", layer.SinkEpsilon.Low));
            points.Add(new(step, layer.Layer, "causal", "epsilon_share_high", layer.SinkEpsilon.High));
        }
        var model = profile.Causal.ModelSinkEpsilon;
        points.Add(new(step, -1, "model", "sink_epsilon", model.Value));
        points.Add(new(step, -1, "model", "sink_epsilon_low", model.Low));
        points.Add(new(step, -1, "model", "sink_epsilon_high", model.High));
        points.Add(new(step, -1, "model", "loss", evaluation.Loss));
        points.Add(new(step, -1, "model", "answer_accuracy", evaluation.AnswerAccuracy));
        points.Add(new(step, -1, "model", "free_loss", evaluation.FreeLoss));
        points.Add(new(step, -1, "model", "free_entropy", evaluation.FreeEntropy));
        EmergenceRecorder.Append(csvPath, points);
        return points;
    }
}
