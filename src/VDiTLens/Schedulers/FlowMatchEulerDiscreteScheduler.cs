using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Schedulers;

/// <summary>
/// diffusers' FlowMatchEulerDiscreteScheduler (Wan, HunyuanVideo, Mochi): static <c>shift</c>, optional
/// <c>invert_sigmas</c>, deterministic Euler step. Precision as diffusers: the training schedule in float32 torch,
/// <c>set_timesteps(N)</c> in float64 numpy, custom sigmas in float32 numpy, the step in float32.
/// </summary>
public sealed class FlowMatchEulerDiscreteScheduler : ICustomSigmasScheduler
{
    private readonly double _sigmaMin;
    private readonly double _sigmaMax;
    private Tensor _timesteps;
    private Tensor _sigmas;

    public FlowMatchEulerDiscreteConfig Config { get; }
    public string ClassName => "FlowMatchEulerDiscreteScheduler";
    public int NumInferenceSteps { get; private set; }
    public Tensor Timesteps => _timesteps;
    public Tensor? Sigmas => _sigmas;
    public double InitNoiseSigma => 1.0;

    public FlowMatchEulerDiscreteScheduler(FlowMatchEulerDiscreteConfig config)
    {
        Config = config;
        int n = config.num_train_timesteps;
        var train = Enumerable.Range(1, n).Reverse().Select(i => (float)i).ToArray();
        using var scope = torch.NewDisposeScope();
        var sigmas = ApplyShift(torch.tensor(train) / n);
        _sigmaMin = sigmas[-1].item<float>();
        _sigmaMax = sigmas[0].item<float>();
        _sigmas = sigmas.DetachFromDisposeScope();
        _timesteps = (sigmas * n).DetachFromDisposeScope();
        NumInferenceSteps = n;
    }

    public void SetTimesteps(int numInferenceSteps)
    {
        if (numInferenceSteps < 1) throw new ArgumentOutOfRangeException(nameof(numInferenceSteps));
        int n = Config.num_train_timesteps;
        double shift = Config.shift;
        var t = NumpyCompat.Linspace(_sigmaMax * n, _sigmaMin * n, numInferenceSteps);
        var sigmas = t.Select(v => v / n).Select(s => (float)(shift * s / (1 + (shift - 1) * s))).ToArray();
        using var scope = torch.NewDisposeScope();
        Finish(torch.tensor(sigmas));
    }

    /// <summary><c>set_timesteps(sigmas=...)</c>: the sigmas are cast to float32, then shifted in float32.</summary>
    public void SetTimesteps(IReadOnlyList<double> sigmas)
    {
        if (sigmas.Count < 1) throw new ArgumentException("at least one sigma is needed", nameof(sigmas));
        using var scope = torch.NewDisposeScope();
        Finish(ApplyShift(torch.tensor(sigmas.Select(s => (float)s).ToArray())));
    }

    public Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample)
    {
        if (stepIndex < 0 || stepIndex >= NumInferenceSteps)
            throw new ArgumentOutOfRangeException(nameof(stepIndex), $"step {stepIndex} of a {NumInferenceSteps}-step schedule");
        using var scope = torch.NewDisposeScope();
        var dt = _sigmas[stepIndex + 1] - _sigmas[stepIndex];
        var previous = sample.to(ScalarType.Float32) + dt.to(modelOutput.device) * modelOutput;
        return previous.to(modelOutput.dtype).MoveToOuterDisposeScope();
    }

    public void Reset() { }

    private Tensor ApplyShift(Tensor sigmas)
    {
        double shift = Config.shift;
        return shift * sigmas / (1 + (shift - 1) * sigmas);
    }

    private void Finish(Tensor shiftedSigmas)
    {
        int n = Config.num_train_timesteps;
        var sigmas = shiftedSigmas;
        if (Config.invert_sigmas) sigmas = 1.0 - sigmas;
        var timesteps = sigmas * n;
        var last = Config.invert_sigmas ? torch.ones(1) : torch.zeros(1);
        _timesteps = timesteps.DetachFromDisposeScope();
        _sigmas = torch.cat([sigmas, last]).DetachFromDisposeScope();
        NumInferenceSteps = (int)timesteps.shape[0];
    }
}
