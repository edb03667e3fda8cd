using static TorchSharp.torch;

namespace VDiTLens.Schedulers;

/// <summary>
/// A diffusers noise scheduler. Call <see cref="SetTimesteps(int)"/>, then <see cref="Step"/> once per timestep in order
/// (<c>stepIndex</c> = position in <see cref="Timesteps"/>). <see cref="Reset"/> clears the multistep state so the same
/// schedule can run another generation.
/// </summary>
public interface IScheduler
{
    /// <summary>The diffusers class this ports (<c>_class_name</c> of scheduler_config.json).</summary>
    string ClassName { get; }

    int NumInferenceSteps { get; }

    /// <summary>The timesteps fed to the model, on the CPU, in diffusers' dtype (float32 for flow matching, int64 otherwise).</summary>
    Tensor Timesteps { get; }

    /// <summary>The scheduler's <c>sigmas</c> (float32, N+1 values) or null where the diffusers scheduler has none.</summary>
    Tensor? Sigmas { get; }

    /// <summary>The factor the initial Gaussian latent is multiplied by.</summary>
    double InitNoiseSigma { get; }

    void SetTimesteps(int numInferenceSteps);

    /// <summary>One denoising step: the latent for the next timestep, in the dtype diffusers returns.</summary>
    Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample);

    /// <summary>Forgets the state of the generation in progress; keeps the schedule.</summary>
    void Reset();
}

/// <summary>A scheduler that also takes an explicit sigma schedule (diffusers' <c>set_timesteps(sigmas=...)</c>).</summary>
public interface ICustomSigmasScheduler : IScheduler
{
    void SetTimesteps(IReadOnlyList<double> sigmas);
}
