namespace VDiTLens.Training.LanguageModel;

/// <summary>Hyper-parameters of a tiny causal LM training run (<see cref="TinyLmTrainer"/>). Everything a resume must agree on is here.</summary>
/// <param name="Steps">Total optimiser steps (the cosine schedule ends here); 0 writes the initialised, untrained model.</param>
/// <param name="BatchSize">Sequences per step.</param>
/// <param name="SequenceLength">Tokens per sequence, <c>&lt;bos&gt;</c> included.</param>
/// <param name="LearningRate">Peak AdamW learning rate.</param>
/// <param name="WarmupSteps">Linear warm-up steps.</param>
/// <param name="WeightDecay">AdamW decoupled weight decay (matrices only). Strong decay (1.0) is what lets the first-token sink emerge within a few thousand steps (docs/sinks.md).</param>
/// <param name="GradientClip">Global gradient-norm clip.</param>
/// <param name="InitializerRange">Standard deviation of the initial linear and embedding weights (transformers' initializer_range).</param>
/// <param name="Seed">Seed of the initial weights and of the data.</param>
/// <param name="CheckpointEvery">Steps between checkpoints (a final one is always written).</param>
/// <param name="LogEvery">Steps between loss-log rows and progress reports.</param>
/// <param name="MaxSeconds">Stop (checkpointing first) once training has run this long; 0 = no limit.</param>
/// <param name="Language">The token language (<see cref="TokenLanguages"/>).</param>
public sealed record TinyLmOptions(
    int Steps = 4000,
    int BatchSize = 32,
    int SequenceLength = 64,
    double LearningRate = 3e-3,
    int WarmupSteps = 100,
    double WeightDecay = 1.0,
    double GradientClip = 1.0,
    double InitializerRange = 0.02,
    long Seed = 0,
    int CheckpointEvery = 500,
    int LogEvery = 100,
    double MaxSeconds = 0,
    string Language = BigramBackcopyLanguage.LanguageName)
{
    public ITokenLanguage TokenLanguage() => TokenLanguages.Of(Language);

    public void Validate()
    {
        if (Steps < 0) throw new VDiTLensException($"Steps {Steps}: must not be negative (0 writes the initial weights)");
        if (BatchSize < 1) throw new VDiTLensException($"BatchSize {BatchSize}: must be at least 1");
        if (SequenceLength < 2) throw new VDiTLensException($"SequenceLength {SequenceLength}: must be at least 2");
        if (!(LearningRate > 0)) throw new VDiTLensException($"LearningRate {LearningRate}: must be positive");
        if (WarmupSteps < 0) throw new VDiTLensException($"WarmupSteps {WarmupSteps}: must not be negative");
        if (WeightDecay < 0) throw new VDiTLensException($"WeightDecay {WeightDecay}: must not be negative");
        if (!(GradientClip > 0)) throw new VDiTLensException($"GradientClip {GradientClip}: must be positive");
        if (!(InitializerRange > 0)) throw new VDiTLensException($"InitializerRange {InitializerRange}: must be positive");
        if (CheckpointEvery < 1 || LogEvery < 1) throw new VDiTLensException($"CheckpointEvery {CheckpointEvery} and LogEvery {LogEvery}: must be at least 1");
        if (MaxSeconds < 0) throw new VDiTLensException($"MaxSeconds {MaxSeconds}: must not be negative (0 = no limit)");
        TokenLanguage();
    }
}

/// <summary>Shape of the tiny LM (a transformers LlamaConfig over its language's vocabulary).</summary>
/// <param name="AttentionBias">Biases on the q, k, v and o projections (transformers' <c>attention_bias</c>).</param>
public sealed record TinyLmShape(int Layers = 2, int HiddenSize = 64, int Heads = 4, int IntermediateSize = 256, int MaxPositions = 256, bool AttentionBias = false)
{
    public Models.Llama.LlamaConfig Config(int vocabularySize)
    {
        if (Layers < 1 || HiddenSize < 2 || Heads < 1 || IntermediateSize < 1)
            throw new VDiTLensException($"tiny LM shape {this}: layers, hidden size, heads and intermediate size must be positive");
        if (HiddenSize % Heads != 0 || HiddenSize / Heads % 2 != 0)
            throw new VDiTLensException($"tiny LM shape: HiddenSize {HiddenSize} ÷ Heads {Heads} must be an even whole head width");
        return new Models.Llama.LlamaConfig
        {
            vocab_size = vocabularySize, hidden_size = HiddenSize, intermediate_size = IntermediateSize,
            num_hidden_layers = Layers, num_attention_heads = Heads, num_key_value_heads = Heads, head_dim = HiddenSize / Heads,
            rms_norm_eps = 1e-5, rope_theta = 10000, max_position_embeddings = MaxPositions, attention_bias = AttentionBias,
        };
    }
}
