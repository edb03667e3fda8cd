using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>Means of same-shaped tensors per key (e.g. per site), kept in float64 on the CPU.</summary>
public sealed class RunningMean
{
    private readonly Dictionary<string, (Tensor Sum, int Count)> _sums = new();

    public void Add(string key, Tensor value)
    {
        var v = value.detach().to(ScalarType.Float64).cpu().DetachFromDisposeScope();
        if (_sums.TryGetValue(key, out var entry))
        {
            if (!entry.Sum.shape.SequenceEqual(v.shape))
                throw new VDiTLensException($"probe result '{key}' changed shape between calls ([{string.Join(", ", entry.Sum.shape)}] vs [{string.Join(", ", v.shape)}]); group by step or run, or probe one input size at a time");
            entry.Sum.add_(v);
            v.Dispose();
            _sums[key] = (entry.Sum, entry.Count + 1);
        }
        else
        {
            _sums[key] = (v, 1);
        }
    }

    public IEnumerable<KeyValuePair<string, Tensor>> Means(string suffix) =>
        _sums.Select(kv => new KeyValuePair<string, Tensor>(kv.Key + "." + suffix, (kv.Value.Sum / kv.Value.Count).to(ScalarType.Float32).DetachFromDisposeScope()));

    public int Count(string key) => _sums.TryGetValue(key, out var e) ? e.Count : 0;
}
