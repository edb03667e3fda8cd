using System.Collections;
using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Probe results keyed by <see cref="ProbeKey"/>, on the CPU; disposing frees the tensors. A key reported by several
/// probes (a fused probe and its blockwise fallback, each for part of the calls) holds their mean weighted by calls.
/// <see cref="Unavailable"/> names every result a probe could not compute for some of its calls, and why.
/// </summary>
public sealed class ProbeResults : IReadOnlyDictionary<ProbeKey, Tensor>, IDisposable
{
    private readonly Dictionary<ProbeKey, Tensor> _values = new();
    private readonly Dictionary<ProbeKey, int> _calls = new();
    private readonly Dictionary<ProbeKey, string> _unavailable = new();
    private readonly Dictionary<string, ProbeKey> _printed = new();

    public ProbeResults(IEnumerable<ProbeResult> results)
    {
        foreach (var r in results) Add(r);
    }

    public IReadOnlyDictionary<ProbeKey, string> Unavailable => _unavailable;

    /// <summary>Calls averaged into each value.</summary>
    public IReadOnlyDictionary<ProbeKey, int> Calls => _calls;

    private void Add(ProbeResult r)
    {
        if (r.Reason is { } reason) _unavailable.TryAdd(r.Key, reason);
        if (r.Value is not { } value) return;
        if (_values.Remove(r.Key, out var earlier))
        {
            int before = _calls[r.Key];
            using (earlier)
            {
                if (!earlier.shape.SequenceEqual(value.shape))
                    throw new VDiTLensException($"probe result '{r.Key}' has shape [{string.Join(", ", earlier.shape)}] from one probe and [{string.Join(", ", value.shape)}] from another");
                var merged = (earlier.to(ScalarType.Float64) * before + value.to(ScalarType.Float64) * r.Calls) / (before + r.Calls);
                value.Dispose();
                value = merged.to(earlier.dtype).DetachFromDisposeScope();
            }
            _calls[r.Key] = before + r.Calls;
        }
        else _calls[r.Key] = r.Calls;
        _values[r.Key] = value;
        _printed[r.Key.ToString()] = r.Key;
    }

    /// <summary>The value under its printed key (e.g. <c>blocks.1.attn1.received_mass</c>).</summary>
    public Tensor this[string printed] => _printed.TryGetValue(printed, out var key) ? _values[key]
        : throw new KeyNotFoundException($"no probe result '{printed}'" + (_unavailable.Keys.FirstOrDefault(k => k.ToString() == printed) is { } u ? $": {_unavailable[u]}" : ""));

    public bool ContainsKey(string printed) => _printed.ContainsKey(printed);

    public bool TryGetValue(string printed, out Tensor value)
    {
        value = null!;
        return _printed.TryGetValue(printed, out var key) && _values.TryGetValue(key, out value!);
    }

    /// <summary>The values of one statistic, e.g. every site's <c>received_mass</c>.</summary>
    public IEnumerable<KeyValuePair<ProbeKey, Tensor>> Of(string statistic) => _values.Where(kv => kv.Key.Statistic == statistic);

    /// <summary>Values under their printed keys (for files).</summary>
    public Dictionary<string, Tensor> ByPrintedKey() => _values.ToDictionary(kv => kv.Key.ToString(), kv => kv.Value);

    public Tensor this[ProbeKey key] => _values[key];
    public IEnumerable<ProbeKey> Keys => _values.Keys;
    public IEnumerable<Tensor> Values => _values.Values;
    public int Count => _values.Count;
    public bool ContainsKey(ProbeKey key) => _values.ContainsKey(key);
    public bool TryGetValue(ProbeKey key, out Tensor value) => _values.TryGetValue(key, out value!);
    public IEnumerator<KeyValuePair<ProbeKey, Tensor>> GetEnumerator() => _values.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Several probes' results in one; the parts are emptied (their tensors move here).</summary>
    public static ProbeResults Merge(IEnumerable<ProbeResults?> parts) => new(parts.SelectMany(p => p?.Release() ?? []).ToList());

    private List<ProbeResult> Release()
    {
        var entries = _values.Select(kv => new ProbeResult(kv.Key, kv.Value, _calls[kv.Key], _unavailable.GetValueOrDefault(kv.Key)))
            .Concat(_unavailable.Where(kv => !_values.ContainsKey(kv.Key)).Select(kv => new ProbeResult(kv.Key, null, 0, kv.Value))).ToList();
        _values.Clear();
        _unavailable.Clear();
        return entries;
    }

    public void Dispose()
    {
        foreach (var t in _values.Values) t.Dispose();
        _values.Clear();
    }
}
