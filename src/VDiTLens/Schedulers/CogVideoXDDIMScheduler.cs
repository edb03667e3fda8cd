using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Schedulers;

/// <summary>
/// diffusers' CogVideoXDDIMScheduler (CogVideoX-2B): deterministic DDIM (eta = 0) over SNR-shifted alphas_cumprod.
/// The coefficients are 0-dim tensors in alphas_cumprod's dtype (float64 for scaled_linear), applied to the
/// float32 latent as diffusers does.
/// </summary>
public sealed class CogVideoXDDIMScheduler : IScheduler
{
    private readonly CogVideoXNoiseSchedule _schedule;
    private long[] _timesteps = [];
    private Tensor _timestepTensor = torch.zeros(0, ScalarType.Int64).DetachFromDisposeScope();

    public CogVideoXSchedulerConfig Config => _schedule.Config;
    public string ClassName => "CogVideoXDDIMScheduler";
    public int NumInferenceSteps => _timesteps.Length;
    public Tensor Timesteps => _timestepTensor;
    public Tensor? Sigmas => null;
    public double InitNoiseSigma => 1.0;
    public Tensor AlphasCumprod => _schedule.AlphasCumprod;

    /// <summary>The x0 prediction of the latest step (diffusers' <c>pred_original_sample</c>).</summary>
    public Tensor? PredictedOriginalSample { get; private set; }

    public CogVideoXDDIMScheduler(CogVideoXSchedulerConfig config) => _schedule = new CogVideoXNoiseSchedule(config);

    public void SetTimesteps(int numInferenceSteps)
    {
        _timesteps = _schedule.Timesteps(numInferenceSteps);
        _timestepTensor = torch.tensor(_timesteps).DetachFromDisposeScope();
        Reset();
    }

    public void Reset()
    {
        PredictedOriginalSample?.Dispose();
        PredictedOriginalSample = null;
    }

    public Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample)
    {
        if (stepIndex < 0 || stepIndex >= NumInferenceSteps)
            throw new ArgumentOutOfRangeException(nameof(stepIndex), $"step {stepIndex} of a {NumInferenceSteps}-step schedule (call SetTimesteps first)");
        using var scope = torch.NewDisposeScope();
        long timestep = _timesteps[stepIndex];
        long previousTimestep = timestep - Config.num_train_timesteps / NumInferenceSteps;
        var alphaProdT = _schedule.AlphaProd(timestep).to(sample.device);
        var alphaProdTPrev = _schedule.AlphaProd(previousTimestep).to(sample.device);
        var predOriginal = CogVideoXNoiseSchedule.PredictOriginalSample(modelOutput, sample, alphaProdT);
        var aT = ((1 - alphaProdTPrev) / (1 - alphaProdT)).pow(0.5);
        var bT = alphaProdTPrev.pow(0.5) - alphaProdT.pow(0.5) * aT;
        var previous = aT * sample + bT * predOriginal;
        PredictedOriginalSample?.Dispose();
        PredictedOriginalSample = predOriginal.alias().DetachFromDisposeScope();
        return previous.MoveToOuterDisposeScope();
    }
}
