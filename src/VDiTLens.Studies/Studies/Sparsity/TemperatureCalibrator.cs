using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions;
using VDiTLens.Interventions.Sparsity;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// Observes dense attention calls (it changes nothing) and, for each sparsifier level, finds per site and head the
/// temperature that gives the masked attention the dense attention's entropy (<see cref="EntropyMatching"/>) on every
/// <see cref="QueryStride"/>-th query of each call. A head's temperature is the geometric mean over the calls it saw
/// (steps, guidance branches, runs); <see cref="Temperatures"/> turns them into interventions for the masked sites.
/// </summary>
public sealed class TemperatureCalibrator : IAttentionIntervention
{
    private readonly IReadOnlyDictionary<double, ISparsifier> _sparsifiers;
    private readonly AttentionSelector _scope;
    private readonly Dictionary<(double Level, string Site), (double[] LogTauSum, int Calls, int Clamped)> _sums = new();

    /// <param name="sparsifiers">The sparsifier of each level (its keep-mask is the masked attention's).</param>
    public TemperatureCalibrator(IReadOnlyDictionary<double, ISparsifier> sparsifiers, AttentionSelector scope, int queryStride)
    {
        if (sparsifiers.Count == 0) throw new VDiTLensException("temperature calibration: no sparsifier level given");
        if (queryStride < 1) throw new VDiTLensException($"temperature calibration: query stride {queryStride} must be at least 1");
        _sparsifiers = sparsifiers;
        _scope = scope;
        QueryStride = queryStride;
    }

    public int QueryStride { get; }

    public bool Accepts(AttentionCall call) => _scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        using (var scope = torch.NewDisposeScope())
        {
            var dtype = ScalarType.Float64;
            var rows = torch.arange(0, q.shape[2], QueryStride, ScalarType.Int64, q.device);
            var q64 = q.to(dtype);
            var logits = torch.matmul(q64.index_select(2, rows), k.to(dtype).transpose(-2, -1)) * call.Scale;
            if (call.Mask is { } mask)
            {
                var m = mask.dim() >= 2 && mask.shape[^2] > 1 ? mask.index_select(mask.dim() - 2, rows) : mask;
                logits = m.dtype == ScalarType.Bool ? logits.masked_fill(m.logical_not(), double.NegativeInfinity) : logits + m.to(dtype);
            }
            var heads = Enumerable.Range(0, (int)q.shape[1]).Select(h => (long)h).ToArray();
            foreach (var (level, sparsifier) in _sparsifiers)
            {
                var keep = sparsifier.Begin(new SparsityInputs(call, q64, k.to(dtype), v.to(dtype), call.Mask, heads))(new QueryBlock(rows, logits));
                var matches = EntropyMatching.Solve(logits, keep);
                var key = (level, call.Site.Name);
                var (sum, calls, clamped) = _sums.TryGetValue(key, out var s) ? s : (new double[matches.Length], 0, 0);
                for (int h = 0; h < matches.Length; h++) sum[h] += Math.Log(matches[h].Tau);
                _sums[key] = (sum, calls + 1, clamped + matches.Count(m => m.Clamped));
            }
        }
        return next(call, q, k, v);
    }

    /// <summary>What the calibrator has seen so far, per level and site (what a saved calibration holds).</summary>
    public IReadOnlyList<TemperatureSums> Sums => _sums
        .Select(kv => new TemperatureSums(kv.Key.Level, kv.Key.Site, kv.Value.LogTauSum.ToArray(), kv.Value.Calls, kv.Value.Clamped))
        .OrderBy(r => r.Level).ThenBy(r => r.Site, StringComparer.Ordinal).ToArray();

    /// <summary>Per level and site: each head's temperature (geometric mean over calls), the calls seen and the head-calls clamped at a bound.</summary>
    public IReadOnlyList<CalibratedTemperature> Results => Combine(Sums);

    /// <summary>
    /// The temperatures of several calibrations together (e.g. one per development seed, in that order): per level and
    /// site the geometric mean over all their calls.
    /// </summary>
    public static IReadOnlyList<CalibratedTemperature> Combine(IEnumerable<TemperatureSums> sums) => sums
        .GroupBy(s => (s.Level, s.Site))
        .Select(g =>
        {
            var logTau = new double[g.First().LogTauSum.Count];
            foreach (var s in g)
            {
                if (s.LogTauSum.Count != logTau.Length)
                    throw new VDiTLensException($"temperature calibration of {g.Key.Site} at {g.Key.Level}: {s.LogTauSum.Count} heads in one part, {logTau.Length} in another");
                for (int h = 0; h < logTau.Length; h++) logTau[h] += s.LogTauSum[h];
            }
            int calls = g.Sum(s => s.Calls);
            return new CalibratedTemperature(g.Key.Level, g.Key.Site, logTau.Select(l => Math.Exp(l / calls)).ToArray(), calls, g.Sum(s => s.Clamped));
        })
        .OrderBy(r => r.Level).ThenBy(r => r.Site, StringComparer.Ordinal).ToArray();

    /// <summary>Temperature interventions (one per site, one τ per head) at <paramref name="level"/> for <paramref name="sites"/>.</summary>
    public static IReadOnlyList<IAttentionIntervention> Temperatures(IEnumerable<CalibratedTemperature> calibrated, double level, IReadOnlyList<string> sites)
    {
        var bySite = calibrated.Where(c => c.Level == level).ToDictionary(c => c.Site, StringComparer.Ordinal);
        return sites.Select(site => bySite.TryGetValue(site, out var c)
                ? (IAttentionIntervention)new Temperature(c.Taus, new AttentionSelector { Sites = new[] { site }, Heads = Enumerable.Range(0, c.Taus.Count).Select(h => (long)h).ToArray() })
                : throw new VDiTLensException($"no calibrated temperature for site {site} at level {level}; the calibration run did not pass through it"))
            .ToArray();
    }
}

/// <summary>One calibration's raw sums at one site and level: Σ ln τ per head over its calls, the calls and the head-calls clamped at a bound.</summary>
public sealed record TemperatureSums(double Level, string Site, IReadOnlyList<double> LogTauSum, int Calls, int Clamped);

/// <summary>Entropy-matching temperatures of one site at one level: one τ per head, from <see cref="Calls"/> calls; <see cref="ClampedHeadCalls"/> hit a bound of the search.</summary>
public sealed record CalibratedTemperature(double Level, string Site, IReadOnlyList<double> Taus, int Calls, int ClampedHeadCalls);
