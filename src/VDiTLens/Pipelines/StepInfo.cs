using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// What a denoising step produced. Tensors are valid only during the callback (clone to keep).
/// <see cref="Latents"/> is the scheduler's output, the next step's input (float32 for Wan and Mochi; the model dtype for CogVideoX, as diffusers keeps them); <see cref="NoisePrediction"/>
/// the guided model output the scheduler consumed; <see cref="ConditionalPrediction"/> /
/// <see cref="UnconditionalPrediction"/> the two branches (unconditional is null without guidance).
/// </summary>
public sealed record StepInfo(
    int Step,
    int TotalSteps,
    double Timestep,
    Tensor Latents,
    Tensor NoisePrediction,
    Tensor ConditionalPrediction,
    Tensor? UnconditionalPrediction);
