using TorchSharp;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sparsity;

/// <summary>Top-k coverage of one head at one step: the fraction of keys holding share <see cref="P"/> of a query's mass (mean over queries and batch rows).</summary>
public sealed record CoverageRow(string Site, int Layer, int Step, int Head, double P, double Fraction);

/// <summary>Mean coverage of a site over steps and heads, at each level of <see cref="EntropyCoverage.Levels"/>, and its mean entropy (nats).</summary>
public sealed record SiteCoverage(string Site, int Layer, IReadOnlyList<double> FractionByLevel, double Entropy)
{
    /// <summary>Coverage fraction at level <paramref name="p"/> (one of <see cref="EntropyCoverage.Levels"/>).</summary>
    public double At(double p)
    {
        int i = Array.IndexOf(EntropyCoverage.Levels, p);
        return i >= 0 ? FractionByLevel[i] : throw new VDiTLensException($"coverage level {p} is not measured (levels: {string.Join(", ", EntropyCoverage.Levels)})");
    }
}

/// <summary>
/// How sparse attention looks in the dense run: per site, head and step, the share of keys needed to cover
/// p ∈ {0.5, 0.9, 0.95, 0.99} of each query's attention (from <see cref="EntropyCoverage"/> grouped by step).
/// Small fractions mean attention that looks sparse.
/// </summary>
public sealed class SparsityProfile
{
    public IReadOnlyList<CoverageRow> Rows { get; }
    public IReadOnlyList<SiteCoverage> Sites { get; }

    public SparsityProfile(IReadOnlyList<string> sites, IReadOnlyDictionary<ProbeKey, Tensor> probes)
    {
        var rows = new List<CoverageRow>();
        var entropy = new Dictionary<string, List<double>>();
        foreach (var (key, tensor) in probes.OrderBy(kv => kv.Key.Site, StringComparer.Ordinal).ThenBy(kv => kv.Key.Step))
        {
            if (key.Statistic is not ("coverage_fraction" or "entropy") || key.Step is not { } step) continue;
            string site = key.Site;
            int layer = IndexOf(sites, site);
            if (layer < 0) continue;
            using var scope = torch.NewDisposeScope();
            var perHead = tensor.to(ScalarType.Float64).mean(new long[] { 0 }); // [H] or [H, levels]
            if (key.Statistic == "entropy")
            {
                (entropy.TryGetValue(site, out var list) ? list : entropy[site] = new()).AddRange(perHead.data<double>().ToArray());
                continue;
            }
            var values = perHead.contiguous().data<double>().ToArray();
            int levels = EntropyCoverage.Levels.Length;
            for (int h = 0; h < values.Length / levels; h++)
                for (int l = 0; l < levels; l++)
                    rows.Add(new CoverageRow(site, layer, step, h, EntropyCoverage.Levels[l], values[h * levels + l]));
        }
        Rows = rows.OrderBy(r => r.Layer).ThenBy(r => r.Step).ThenBy(r => r.Head).ThenBy(r => r.P).ToArray();
        Sites = sites.Select((s, i) => new SiteCoverage(s, i,
            EntropyCoverage.Levels.Select(p => rows.Where(r => r.Site == s && r.P == p).Select(r => r.Fraction).DefaultIfEmpty(double.NaN).Average()).ToArray(),
            entropy.TryGetValue(s, out var e) ? e.Average() : double.NaN)).ToArray();
    }

    private static int IndexOf(IReadOnlyList<string> sites, string site)
    {
        for (int i = 0; i < sites.Count; i++) if (sites[i] == site) return i;
        return -1;
    }
}
