using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>
/// EMA of the weights with the usual warm-up: decay = min(<see cref="MaxDecay"/>, (1 + n) / (10 + n)) at update n, so
/// early averages are not dominated by the random initialisation. The averaged weights are the ones shipped.
/// </summary>
public sealed class ExponentialMovingAverage : IDisposable
{
    private readonly IReadOnlyList<(string Name, Parameter Parameter)> _parameters;
    private readonly Dictionary<string, Tensor> _shadow = new();

    public double MaxDecay { get; }

    public ExponentialMovingAverage(IReadOnlyList<(string Name, Parameter Parameter)> parameters, double maxDecay)
    {
        _parameters = parameters;
        MaxDecay = maxDecay;
        using var _ = torch.no_grad();
        foreach (var (name, p) in parameters) _shadow[name] = p.detach().clone().DetachFromDisposeScope();
    }

    public double DecayAt(long update) => Math.Min(MaxDecay, (1.0 + update) / (10.0 + update));

    public void Update(long update)
    {
        double decay = DecayAt(update);
        using var _ = torch.no_grad();
        foreach (var (name, p) in _parameters) _shadow[name].mul_(decay).add_(p, alpha: 1 - decay);
    }

    /// <summary>The averaged weights by prefixed name.</summary>
    public IReadOnlyDictionary<string, Tensor> Weights => _shadow;

    public void Load(IReadOnlyDictionary<string, Tensor> weights)
    {
        using var _ = torch.no_grad();
        foreach (var (name, t) in _shadow) t.copy_(NamedAdamW.Require(weights, name));
    }

    public void Dispose()
    {
        foreach (var t in _shadow.Values) t.Dispose();
    }
}
