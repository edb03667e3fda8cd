using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Means of same-shaped tensors per key (e.g. per site), kept in float64. Sums stay on the values' device until
/// <see cref="PendingBytesLimit"/> is exceeded or the means are read, so adding a value never waits for the GPU
/// (a copy to the CPU would synchronise every attention call of a probed forward).
/// </summary>
public sealed class RunningMean
{
    /// <summary>Device memory the pending sums may take before they are moved to the CPU.</summary>
    public const long PendingBytesLimit = 256L << 20;

    private readonly Dictionary<string, Tensor> _sums = new();
    private readonly Dictionary<string, Tensor> _pending = new();
    private readonly Dictionary<string, int> _counts = new();
    private readonly Dictionary<string, long[]> _shapes = new();
    private long _pendingBytes;

    public void Add(string key, Tensor value)
    {
        if (_shapes.TryGetValue(key, out var shape) && !shape.SequenceEqual(value.shape))
            throw new VDiTLensException($"probe result '{key}' changed shape between calls ([{string.Join(", ", shape)}] vs [{string.Join(", ", value.shape)}]); group by step or run, or probe one input size at a time");
        _shapes[key] = value.shape.ToArray();
        _counts[key] = Count(key) + 1;
        if (_pending.TryGetValue(key, out var sum) && sum.device == value.device)
        {
            sum.add_(value.detach());
            return;
        }
        if (sum is not null) Flush();
        var v = value.detach().to(ScalarType.Float64, copy: true).DetachFromDisposeScope();
        _pending[key] = v;
        _pendingBytes += v.numel() * 8;
        if (_pendingBytes > PendingBytesLimit) Flush();
    }

    public IEnumerable<KeyValuePair<string, Tensor>> Means(string suffix)
    {
        Flush();
        return _sums.Select(kv => new KeyValuePair<string, Tensor>(kv.Key + "." + suffix, (kv.Value / _counts[kv.Key]).to(ScalarType.Float32).DetachFromDisposeScope())).ToList();
    }

    public int Count(string key) => _counts.TryGetValue(key, out var c) ? c : 0;

    private void Flush()
    {
        foreach (var (key, pending) in _pending)
        {
            var cpu = pending.cpu().DetachFromDisposeScope();
            if (!ReferenceEquals(cpu, pending)) pending.Dispose();
            if (_sums.TryGetValue(key, out var sum))
            {
                sum.add_(cpu);
                cpu.Dispose();
            }
            else _sums[key] = cpu;
        }
        _pending.Clear();
        _pendingBytes = 0;
    }
}
