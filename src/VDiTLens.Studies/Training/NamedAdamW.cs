using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>
/// AdamW (decoupled weight decay, bias-corrected moments) over named parameters, with its moments exposed by name so a
/// checkpoint can save and restore them exactly. Weight decay applies to matrices only (not to biases, norms' gains or
/// the 1-D modulation tables).
/// </summary>
public sealed class NamedAdamW : IDisposable
{
    private readonly IReadOnlyList<(string Name, Parameter Parameter)> _parameters;
    private readonly Dictionary<string, Tensor> _m = new(), _v = new();

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }
    public double WeightDecay { get; }

    /// <summary>The parameters it updates, by name.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters => _parameters;

    /// <summary>Number of updates taken (the bias correction's t).</summary>
    public long Steps { get; private set; }

    public NamedAdamW(IReadOnlyList<(string Name, Parameter Parameter)> parameters, double beta1 = 0.9, double beta2 = 0.999,
        double epsilon = 1e-8, double weightDecay = 0.01)
    {
        _parameters = parameters;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        foreach (var (name, p) in parameters)
        {
            _m[name] = torch.zeros_like(p).DetachFromDisposeScope();
            _v[name] = torch.zeros_like(p).DetachFromDisposeScope();
        }
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in _parameters) p.grad?.zero_();
    }

    public void Step(double learningRate)
    {
        Steps++;
        double correction1 = 1 - Math.Pow(Beta1, Steps);
        double correction2 = 1 - Math.Pow(Beta2, Steps);
        using var _ = torch.no_grad();
        foreach (var (name, p) in _parameters)
        {
            var g = p.grad;
            if (g is null) continue;
            using var scope = torch.NewDisposeScope();
            var m = _m[name];
            var v = _v[name];
            m.mul_(Beta1).add_(g, alpha: 1 - Beta1);
            v.mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
            if (WeightDecay > 0 && p.dim() >= 2 && !name.EndsWith("scale_shift_table", StringComparison.Ordinal))
                p.mul_(1 - learningRate * WeightDecay);
            var denominator = (v / correction2).sqrt_().add_(Epsilon);
            p.addcdiv_(m, denominator, value: -learningRate / correction1);
        }
    }

    /// <summary>The moments as "m.{name}" and "v.{name}".</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> State() =>
        _m.Select(kv => KeyValuePair.Create("m." + kv.Key, kv.Value))
            .Concat(_v.Select(kv => KeyValuePair.Create("v." + kv.Key, kv.Value)));

    /// <summary>Restores moments saved by <see cref="State"/> and the step count.</summary>
    public void Load(IReadOnlyDictionary<string, Tensor> state, long steps)
    {
        using var _ = torch.no_grad();
        foreach (var (name, _) in _parameters)
        {
            _m[name].copy_(Require(state, "m." + name));
            _v[name].copy_(Require(state, "v." + name));
        }
        Steps = steps;
    }

    internal static Tensor Require(IReadOnlyDictionary<string, Tensor> state, string key) =>
        state.TryGetValue(key, out var t) ? t : throw new VDiTLensException($"checkpoint has no tensor '{key}'; it was written by a different model size");

    public void Dispose()
    {
        foreach (var t in _m.Values.Concat(_v.Values)) t.Dispose();
    }
}
