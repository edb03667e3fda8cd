using VDiTLens.Procedural.Scenes;

namespace VDiTLens.Training;

/// <summary>Hyper-parameters of a tiny-model training run. Everything a resume must agree on is here.</summary>
/// <param name="Steps">Total optimiser steps (the cosine schedule ends here); 0 = measure the step rate and fill <see cref="MaxSeconds"/>.</param>
/// <param name="BatchSize">Clips per step.</param>
/// <param name="LearningRate">Peak AdamW learning rate.</param>
/// <param name="WarmupSteps">Linear warm-up steps.</param>
/// <param name="WeightDecay">AdamW decoupled weight decay (matrices only).</param>
/// <param name="GradientClip">Global gradient-norm clip.</param>
/// <param name="EmaDecay">Maximum EMA decay.</param>
/// <param name="CaptionDropout">Share of captions replaced by the empty caption (for classifier-free guidance).</param>
/// <param name="SigmaShift">Time shift of the training sigma distribution, σ = shift(u), u ~ U(0, 1); the shipped scheduler uses the same shift.</param>
/// <param name="LongTextShare">
/// Share of steps whose text states are zero-padded beyond the 16 caption tokens (up to <see cref="MaxTextLength"/>), so the
/// model does not depend on how far a pipeline pads the prompt embeddings.
/// </param>
/// <param name="Seed">Seed of the initial weights, the data order, the noise and the sigmas.</param>
/// <param name="CheckpointEvery">Steps between checkpoints (a final one is always written).</param>
/// <param name="LogEvery">Steps between loss-log rows and progress reports.</param>
/// <param name="MaxSeconds">Stop (checkpointing first) once training has run this long; 0 = no limit.</param>
/// <param name="SampleShift">
/// Shift of the training sigma distribution when it should differ from the shipped scheduler's <see cref="SigmaShift"/>;
/// 0 = the same. A larger value spends more steps at high noise, where layout and motion are decided.
/// </param>
/// <param name="DirectionContrastShare">
/// Share of each batch (never caption-dropped) also predicted under the captions of all four directions; a
/// cross-entropy over those four (logits −MSE/<see cref="DirectionContrastTemperature"/>) pushes the prediction under the
/// true direction closer to the target than under the others, so the direction word has to steer the motion. 0 = off.
/// </param>
/// <param name="DirectionContrastWeight">Weight of that cross-entropy beside the flow-matching MSE.</param>
/// <param name="DirectionContrastTemperature">MSE units per logit of the direction cross-entropy.</param>
/// <param name="Scenes">Train on multi-object scenes (<see cref="SceneDataset"/>) with these options; null = the single-object clips.</param>
/// <param name="EmergenceClips">
/// At step 0 and every checkpoint, probe this many held-out scenes for sink metrics and coverage and sample as many
/// for the evaluator (<see cref="EmergenceRecorder"/>); 0 = off. Needs <see cref="Scenes"/>.
/// </param>
/// <param name="EmergenceSamplingSteps">Euler steps of the clips sampled at each checkpoint.</param>
public sealed record TinyTrainingOptions(
    int Steps = 6000,
    int BatchSize = 128,
    double LearningRate = 5e-4,
    int WarmupSteps = 200,
    double WeightDecay = 0.01,
    double GradientClip = 1.0,
    double EmaDecay = 0.999,
    double CaptionDropout = 0.1,
    double SigmaShift = 3.0,
    double LongTextShare = 0.25,
    int MaxTextLength = 512,
    int CaptionLength = 16,
    long Seed = 0,
    int CheckpointEvery = 500,
    int LogEvery = 25,
    double MaxSeconds = 0,
    double SampleShift = 0,
    double DirectionContrastShare = 0,
    double DirectionContrastWeight = 0.01,
    double DirectionContrastTemperature = 0.01,
    SceneDatasetOptions? Scenes = null,
    int EmergenceClips = 0,
    int EmergenceSamplingSteps = 16)
{
    /// <summary>
    /// Defaults of the small model (<see cref="TinyModelConfig.Small"/>): 17 × 48 × 48 scenes, batch 64, weight decay 0.1,
    /// captions in 48 token rows (a scene caption has at most 33, so at least 15 unmasked zero rows follow it, as Wan pads),
    /// a checkpoint and an emergence record every 250 steps on 8 held-out scenes.
    /// </summary>
    public static TinyTrainingOptions Small { get; } = new(
        Steps: 3000, BatchSize: 64, LearningRate: 5e-4, WarmupSteps: 200, WeightDecay: 0.1, LongTextShare: 0,
        MaxTextLength: 48, CaptionLength: 48, CheckpointEvery: 250, Scenes: new SceneDatasetOptions(), EmergenceClips: 8);

    /// <summary>The shift that training sigmas are drawn with.</summary>
    public double TrainingShift => SampleShift > 0 ? SampleShift : SigmaShift;

    /// <summary>Clips per batch that get the direction contrast.</summary>
    public int DirectionContrastCount => (int)Math.Round(DirectionContrastShare * BatchSize);

    public void Validate()
    {
        if (Steps < 0) throw new VDiTLensException($"Steps {Steps}: must be at least 1 (or 0 to size the run from MaxSeconds)");
        if (BatchSize < 1) throw new VDiTLensException($"BatchSize {BatchSize}: must be at least 1");
        if (!(LearningRate > 0)) throw new VDiTLensException($"LearningRate {LearningRate}: must be positive");
        if (CaptionDropout is < 0 or > 1) throw new VDiTLensException($"caption dropout is {CaptionDropout}; it must be in [0, 1]");
        if (MaxTextLength < CaptionLength) throw new VDiTLensException($"max text length {MaxTextLength} is shorter than the caption length {CaptionLength}");
        if (SampleShift < 0) throw new VDiTLensException($"SampleShift {SampleShift}: must be positive (or 0 for the scheduler's shift)");
        if (DirectionContrastShare is < 0 or > 1) throw new VDiTLensException($"DirectionContrastShare {DirectionContrastShare}: must be in [0, 1]");
        if (DirectionContrastShare > 0 && !(DirectionContrastTemperature > 0))
            throw new VDiTLensException($"DirectionContrastTemperature {DirectionContrastTemperature}: must be positive");
        if (CheckpointEvery < 1 || LogEvery < 1) throw new VDiTLensException("CheckpointEvery and LogEvery must be at least 1");
        if (Scenes is not null && CaptionLength < SceneCaption.MaxLength)
            throw new VDiTLensException($"CaptionLength {CaptionLength} is shorter than the longest scene caption ({SceneCaption.MaxLength} tokens)");
        if (Scenes is not null && DirectionContrastShare > 0)
            throw new VDiTLensException("DirectionContrastShare needs the single-object clips (Scenes null)");
        if (EmergenceClips < 0 || (EmergenceClips > 0 && Scenes is null))
            throw new VDiTLensException($"EmergenceClips {EmergenceClips}: must be 0, or positive with Scenes set");
        if (EmergenceSamplingSteps < 1) throw new VDiTLensException($"EmergenceSamplingSteps {EmergenceSamplingSteps}: must be at least 1");
    }
}
