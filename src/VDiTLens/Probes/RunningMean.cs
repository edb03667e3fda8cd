using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Means of same-shaped tensors per key (e.g. per site), kept in float64. Sums stay on the values' device until
/// <see cref="PendingBytesLimit"/> is exceeded or the means are read, so adding a value never waits for the GPU
/// (a copy to the CPU would synchronise every attention call of a probed forward).
/// </summary>
public sealed class RunningMean : IDisposable
{
    /// <summary>Device memory the pending sums may take before they are moved to the CPU.</summary>
    public const long PendingBytesLimit = 256L << 20;

    private readonly Dictionary<ProbeGroup, Tensor> _sums = new();
    private readonly Dictionary<ProbeGroup, Tensor> _pending = new();
    private readonly Dictionary<ProbeGroup, int> _counts = new();
    private readonly Dictionary<ProbeGroup, long[]> _shapes = new();
    private long _pendingBytes;

    public void Add(ProbeGroup key, Tensor value)
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

    /// <summary>The means as results of <paramref name="statistic"/>: new CPU float32 tensors the caller owns.</summary>
    public IEnumerable<ProbeResult> Means(string statistic)
    {
        Flush();
        return _sums.Select(kv => new ProbeResult(new ProbeKey(kv.Key, statistic),
            (kv.Value / _counts[kv.Key]).to(ScalarType.Float32).DetachFromDisposeScope(), _counts[kv.Key])).ToList();
    }

    public int Count(ProbeGroup key) => _counts.TryGetValue(key, out var c) ? c : 0;

    public void Dispose()
    {
        foreach (var t in _pending.Values.Concat(_sums.Values)) t.Dispose();
        _pending.Clear();
        _sums.Clear();
        _counts.Clear();
        _shapes.Clear();
        _pendingBytes = 0;
    }

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
