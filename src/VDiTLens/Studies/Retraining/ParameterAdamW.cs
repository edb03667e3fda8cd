using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Retraining;

/// <summary>
/// AdamW (decoupled weight decay, bias-corrected moments) over named parameters whose moments can be saved and
/// restored exactly, so a resumed run continues bit for bit. Moments are float32 (float64 for float64 parameters).
/// </summary>
public sealed class ParameterAdamW(IReadOnlyList<(string Name, Parameter Parameter)> parameters, double beta1 = 0.9, double beta2 = 0.999,
    double epsilon = 1e-8, double weightDecay = 0.0) : IDisposable
{
    private readonly Dictionary<string, Tensor> _m = parameters.ToDictionary(p => p.Name, p => Zeros(p.Parameter));
    private readonly Dictionary<string, Tensor> _v = parameters.ToDictionary(p => p.Name, p => Zeros(p.Parameter));

    public long Steps { get; private set; }
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; } = parameters;

    private static Tensor Zeros(Parameter p) =>
        torch.zeros_like(p, dtype: p.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32).DetachFromDisposeScope();

    public void ZeroGrad()
    {
        foreach (var (_, p) in Parameters) p.grad?.zero_();
    }

    public void Step(double learningRate)
    {
        Steps++;
        double c1 = 1 - Math.Pow(beta1, Steps), c2 = 1 - Math.Pow(beta2, Steps);
        using var _ = torch.no_grad();
        foreach (var (name, p) in Parameters)
        {
            if (p.grad is not { } g) continue;
            using var scope = torch.NewDisposeScope();
            var g32 = g.to(_m[name].dtype);
            _m[name].mul_(beta1).add_(g32, alpha: 1 - beta1);
            _v[name].mul_(beta2).addcmul_(g32, g32, value: 1 - beta2);
            if (weightDecay > 0) p.mul_(1 - learningRate * weightDecay);
            var update = _m[name] / c1 / ((_v[name] / c2).sqrt_().add_(epsilon));
            p.sub_((update * learningRate).to(p.dtype));
        }
    }

    public IEnumerable<KeyValuePair<string, Tensor>> State() =>
        _m.Select(kv => KeyValuePair.Create("m." + kv.Key, kv.Value)).Concat(_v.Select(kv => KeyValuePair.Create("v." + kv.Key, kv.Value)));

    public void Load(IReadOnlyDictionary<string, Tensor> state, long steps)
    {
        using var _ = torch.no_grad();
        foreach (var (name, _) in Parameters)
        {
            _m[name].copy_(Require(state, "m." + name));
            _v[name].copy_(Require(state, "v." + name));
        }
        Steps = steps;
    }

    internal static Tensor Require(IReadOnlyDictionary<string, Tensor> state, string key) =>
        state.TryGetValue(key, out var t) ? t : throw new VDiTLensException($"checkpoint has no tensor '{key}'; it was written for other blocks or another scope");

    public void Dispose()
    {
        foreach (var t in _m.Values.Concat(_v.Values)) t.Dispose();
    }
}
