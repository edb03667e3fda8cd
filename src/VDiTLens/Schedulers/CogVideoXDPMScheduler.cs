using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Schedulers;

/// <summary>
/// diffusers' CogVideoXDPMScheduler (CogVideoX-5B): a stochastic second-order DPM-Solver step that reuses the previous
/// step's x0 prediction. It draws Gaussian noise on every step whatever eta is (one draw on the first and the last
/// step, two otherwise, the first of the two unused) from <see cref="NoiseSource"/>, in diffusers' order.
/// </summary>
public sealed class CogVideoXDPMScheduler : IScheduler
{
    private readonly CogVideoXNoiseSchedule _schedule;
    private long[] _timesteps = [];
    private Tensor _timestepTensor = torch.zeros(0, ScalarType.Int64).DetachFromDisposeScope();
    private int _stepIndex;

    public CogVideoXSchedulerConfig Config => _schedule.Config;
    public string ClassName => "CogVideoXDPMScheduler";
    public int NumInferenceSteps => _timesteps.Length;
    public Tensor Timesteps => _timestepTensor;
    public Tensor? Sigmas => null;
    public double InitNoiseSigma => 1.0;
    public Tensor AlphasCumprod => _schedule.AlphasCumprod;
    public INoiseSource NoiseSource { get; set; } = new TorchNoiseSource();

    /// <summary>The x0 prediction of the latest step, fed back as <c>old_pred_original_sample</c> on the next.</summary>
    public Tensor? PredictedOriginalSample { get; private set; }

    public CogVideoXDPMScheduler(CogVideoXSchedulerConfig config) => _schedule = new CogVideoXNoiseSchedule(config);

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
        _stepIndex = 0;
    }

    public Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample)
    {
        if (NumInferenceSteps == 0)
            throw new InvalidOperationException("CogVideoXDPMScheduler: call SetTimesteps before Step");
        if (stepIndex != _stepIndex)
            throw new InvalidOperationException(
                $"CogVideoXDPMScheduler uses the previous step's prediction: expected step {_stepIndex}, got {stepIndex} (call Reset() to start over)");
        using var scope = torch.NewDisposeScope();
        var device = sample.device;
        long timestep = _timesteps[stepIndex];
        long previousTimestep = timestep - Config.num_train_timesteps / NumInferenceSteps;
        var alphaProdT = _schedule.AlphaProd(timestep).to(device);
        var alphaProdTPrev = _schedule.AlphaProd(previousTimestep).to(device);
        var alphaProdTBack = stepIndex > 0 ? _schedule.AlphaProd(_timesteps[stepIndex - 1]).to(device) : null;

        var predOriginal = CogVideoXNoiseSchedule.PredictOriginalSample(modelOutput, sample, alphaProdT);

        var lambda = HalfLogSnr(alphaProdT);
        var h = HalfLogSnr(alphaProdTPrev) - lambda;
        var mult1 = ((1 - alphaProdTPrev) / (1 - alphaProdT)).pow(0.5) * (-h).exp();
        var mult2 = (-2 * h).expm1() * alphaProdTPrev.pow(0.5);
        var multNoise = (1 - alphaProdTPrev).pow(0.5) * (1 - (-2 * h).exp()).pow(0.5);

        var noise = NoiseSource.Next(sample);
        var previous = mult1 * sample - mult2 * predOriginal + multNoise * noise;
        var old = PredictedOriginalSample;
        if (old is not null && previousTimestep >= 0 && alphaProdTBack is not null)
        {
            var r = (lambda - HalfLogSnr(alphaProdTBack)) / h;
            var mult3 = 1 + (2 * r).reciprocal();
            var mult4 = (2 * r).reciprocal();
            var denoisedD = mult3 * predOriginal - mult4 * old;
            noise = NoiseSource.Next(sample);
            previous = mult1 * sample - mult2 * denoisedD + multNoise * noise;
        }
        old?.Dispose();
        PredictedOriginalSample = predOriginal.alias().DetachFromDisposeScope();
        _stepIndex++;
        return previous.MoveToOuterDisposeScope();
    }

    /// <summary>λ = log √(ᾱ / (1 − ᾱ)).</summary>
    private static Tensor HalfLogSnr(Tensor alphaProd) => (alphaProd / (1 - alphaProd)).pow(0.5).log();
}
