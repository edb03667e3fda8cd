using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Schedulers;

/// <summary>
/// diffusers' UniPCMultistepScheduler with flow sigmas (WanPipeline's default): UniP predictor + UniC corrector in the
/// data-prediction (x0) form. The schedule is built in float64 numpy arithmetic and stored as float32; every step
/// coefficient is a 0-dim float32 tensor computed with the same torch operations as diffusers, so the float32
/// latents follow diffusers' roundings.
/// </summary>
public sealed class UniPCMultistepScheduler : IScheduler
{
    private Tensor _timesteps;
    private Tensor _sigmas;
    private readonly Tensor?[] _modelOutputs;
    private Tensor? _lastSample;
    private int _lowerOrderNums;
    private int _thisOrder;
    private int _stepIndex;

    public UniPCMultistepConfig Config { get; }
    public string ClassName => "UniPCMultistepScheduler";
    public int NumInferenceSteps { get; private set; }
    public Tensor Timesteps => _timesteps;
    public Tensor? Sigmas => _sigmas;
    public double InitNoiseSigma => 1.0;

    public UniPCMultistepScheduler(UniPCMultistepConfig config)
    {
        Config = config;
        _modelOutputs = new Tensor?[config.solver_order];
        int n = config.num_train_timesteps;
        _timesteps = torch.tensor(Enumerable.Range(0, n).Reverse().Select(i => (float)i).ToArray()).DetachFromDisposeScope();
        _sigmas = torch.zeros(0).DetachFromDisposeScope();
    }

    public void SetTimesteps(int numInferenceSteps)
    {
        if (numInferenceSteps < 1) throw new ArgumentOutOfRangeException(nameof(numInferenceSteps));
        int n = Config.num_train_timesteps;
        double shift = Config.flow_shift;
        var sigmas = NumpyCompat.Linspace(1, 1.0 / n, numInferenceSteps + 1)[..^1];
        for (int i = 0; i < sigmas.Length; i++) sigmas[i] = shift * sigmas[i] / (1 + (shift - 1) * sigmas[i]);
        const double eps = 1e-6;
        if (Math.Abs(sigmas[0] - 1) < eps) sigmas[0] -= eps;
        // float64 timesteps truncated by torch's .to(int64), as diffusers does.
        var timesteps = sigmas.Select(s => (long)(s * n)).ToArray();
        double last = Config.final_sigmas_type == "sigma_min" ? sigmas[^1] : 0.0;
        var sigmas32 = sigmas.Append(last).Select(s => (float)s).ToArray();
        _timesteps = torch.tensor(timesteps).DetachFromDisposeScope();
        _sigmas = torch.tensor(sigmas32).DetachFromDisposeScope();
        NumInferenceSteps = timesteps.Length;
        Reset();
    }

    public void Reset()
    {
        for (int i = 0; i < _modelOutputs.Length; i++)
        {
            _modelOutputs[i]?.Dispose();
            _modelOutputs[i] = null;
        }
        _lastSample?.Dispose();
        _lastSample = null;
        _lowerOrderNums = 0;
        _thisOrder = 0;
        _stepIndex = 0;
    }

    public Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample)
    {
        if (NumInferenceSteps == 0 || _sigmas.numel() == 0)
            throw new InvalidOperationException("UniPCMultistepScheduler: call SetTimesteps before Step");
        if (stepIndex != _stepIndex)
            throw new InvalidOperationException(
                $"UniPCMultistepScheduler is a multistep solver: expected step {_stepIndex}, got {stepIndex} (call Reset() to start over)");
        using var scope = torch.NewDisposeScope();
        bool useCorrector = stepIndex > 0 && !Config.disable_corrector.Contains(stepIndex - 1) && _lastSample is not null;
        var converted = ConvertModelOutput(modelOutput, sample);
        if (useCorrector)
            sample = CorrectorUpdate(converted, _lastSample!, sample, _thisOrder);

        _modelOutputs[0]?.Dispose();
        for (int i = 0; i < _modelOutputs.Length - 1; i++) _modelOutputs[i] = _modelOutputs[i + 1];
        _modelOutputs[^1] = converted.alias().DetachFromDisposeScope();

        int order = Config.lower_order_final ? Math.Min(Config.solver_order, NumInferenceSteps - stepIndex) : Config.solver_order;
        _thisOrder = Math.Min(order, _lowerOrderNums + 1);
        _lastSample?.Dispose();
        _lastSample = sample.alias().DetachFromDisposeScope();
        var previous = PredictorUpdate(sample, _thisOrder);
        if (_lowerOrderNums < Config.solver_order) _lowerOrderNums++;
        _stepIndex++;
        return previous.MoveToOuterDisposeScope();
    }

    private Tensor Sigma(int index, Device device) => _sigmas[index].to(device);

    // Flow sigmas: alpha_t = 1 - sigma, sigma_t = sigma.
    private static (Tensor Alpha, Tensor Sigma) AlphaSigma(Tensor sigma) => (1 - sigma, sigma);

    private static Tensor Lambda(Tensor sigma)
    {
        var (alpha, s) = AlphaSigma(sigma);
        return torch.log(alpha) - torch.log(s);
    }

    private Tensor ConvertModelOutput(Tensor modelOutput, Tensor sample) =>
        // flow_prediction, predict_x0: x0 = sample - sigma_t * v
        sample - Sigma(_stepIndex, sample.device) * modelOutput;

    private Tensor PredictorUpdate(Tensor x, int order)
    {
        var device = x.device;
        var m0 = _modelOutputs[^1]!;
        var sigmaTRaw = Sigma(_stepIndex + 1, device);
        var sigmaS0Raw = Sigma(_stepIndex, device);
        var (alphaT, sigmaT) = AlphaSigma(sigmaTRaw);
        var (_, sigmaS0) = AlphaSigma(sigmaS0Raw);
        var lambdaS0 = Lambda(sigmaS0Raw);
        var h = Lambda(sigmaTRaw) - lambdaS0;

        var rks = new List<Tensor>();
        var d1s = new List<Tensor>();
        for (int i = 1; i < order; i++)
        {
            var mi = _modelOutputs[^(i + 1)]!;
            var rk = (Lambda(Sigma(_stepIndex - i, device)) - lambdaS0) / h;
            rks.Add(rk);
            d1s.Add((mi - m0) / rk);
        }
        var (hPhi1, bH, _, _) = Coefficients(h, rks, order, device);

        // diffusers fixes rho = 0.5 for the order-2 predictor (orders above 2 are rejected by the config reader).
        Tensor? rhosP = d1s.Count > 0 ? torch.ones(1, x.dtype, device) * 0.5 : null;

        var xT_ = sigmaT / sigmaS0 * x - alphaT * hPhi1 * m0;
        var predRes = rhosP is null ? null : torch.einsum("k,bkc...->bc...", rhosP, torch.stack(d1s, 1));
        var xT = predRes is null ? xT_ - alphaT * bH * 0 : xT_ - alphaT * bH * predRes;
        return xT.to(x.dtype);
    }

    private Tensor CorrectorUpdate(Tensor modelT, Tensor x, Tensor thisSample, int order)
    {
        var device = thisSample.device;
        var m0 = _modelOutputs[^1]!;
        var sigmaTRaw = Sigma(_stepIndex, device);
        var sigmaS0Raw = Sigma(_stepIndex - 1, device);
        var (alphaT, sigmaT) = AlphaSigma(sigmaTRaw);
        var (_, sigmaS0) = AlphaSigma(sigmaS0Raw);
        var lambdaS0 = Lambda(sigmaS0Raw);
        var h = Lambda(sigmaTRaw) - lambdaS0;

        var rks = new List<Tensor>();
        var d1s = new List<Tensor>();
        for (int i = 1; i < order; i++)
        {
            var mi = _modelOutputs[^(i + 1)]!;
            var rk = (Lambda(Sigma(_stepIndex - (i + 1), device)) - lambdaS0) / h;
            rks.Add(rk);
            d1s.Add((mi - m0) / rk);
        }
        var (hPhi1, bH, r, b) = Coefficients(h, rks, order, device);

        var rhosC = order == 1
            ? torch.ones(1, x.dtype, device) * 0.5
            : Solve(r, b).to(device).to(x.dtype);

        var xT_ = sigmaT / sigmaS0 * x - alphaT * hPhi1 * m0;
        var d1T = modelT - m0;
        var last = rhosC[-1] * d1T;
        var correction = d1s.Count > 0
            ? torch.einsum("k,bkc...->bc...", rhosC[..^1], torch.stack(d1s, 1)) + last
            : last;
        return (xT_ - alphaT * bH * correction).to(x.dtype);
    }

    /// <summary>
    /// <c>torch.linalg.solve</c> of UniPC's order-conditions system. The 2×2 system (order 2) is solved in float32 with the roundings
    /// of LAPACK's getrf/getrs as the reference CPU ran them (partial pivoting, reciprocal pivots, fused multiply-adds):
    /// this makes the Wan latents bit-identical to diffusers, where the generic solve drifts by ~3e-8 relative.
    /// </summary>
    private static Tensor Solve(Tensor r, Tensor b)
    {
        if (r.shape[0] != 2 || r.dtype != ScalarType.Float32) return torch.linalg.solve(r, b);
        var device = r.device;
        float[] m = r.cpu().data<float>().ToArray();
        float[] v = b.cpu().data<float>().ToArray();
        float r00 = m[0], r01 = m[1], r10 = m[2], r11 = m[3], b0 = v[0], b1 = v[1];
        if (MathF.Abs(r10) > MathF.Abs(r00))
        {
            (r00, r10) = (r10, r00);
            (r01, r11) = (r11, r01);
            (b0, b1) = (b1, b0);
        }
        float inversePivot0 = 1f / r00;
        float l = r10 * inversePivot0;
        float u11 = MathF.FusedMultiplyAdd(-l, r01, r11);
        float y1 = MathF.FusedMultiplyAdd(-l, b0, b1);
        float x1 = y1 * (1f / u11);
        float x0 = MathF.FusedMultiplyAdd(-r01, x1, b0) * inversePivot0;
        return torch.tensor(new[] { x0, x1 }, device: device);
    }

    /// <summary>h·φ₁(hh), B(h) (bh2), and the order-conditions system R·ρ = b of UniPC.</summary>
    private static (Tensor HPhi1, Tensor BH, Tensor R, Tensor B) Coefficients(Tensor h, List<Tensor> rks, int order, Device device)
    {
        var allRks = torch.stack(rks.Append(torch.ones(Array.Empty<long>(), device: device)).ToArray());
        var hh = -h; // predict_x0
        var hPhi1 = torch.expm1(hh);
        var hPhiK = hPhi1 / hh - 1;
        long factorial = 1;
        var bH = torch.expm1(hh);
        var r = new List<Tensor>();
        var b = new List<Tensor>();
        for (int i = 1; i <= order; i++)
        {
            r.Add(torch.pow(allRks, i - 1));
            b.Add(hPhiK * factorial / bH);
            factorial *= i + 1;
            hPhiK = hPhiK / hh - 1.0 / factorial;
        }
        return (hPhi1, bH, torch.stack(r), torch.stack(b));
    }
}
