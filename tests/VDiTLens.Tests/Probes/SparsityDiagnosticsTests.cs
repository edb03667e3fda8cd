using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using VDiTLens.Tests.Interventions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Probes;

public sealed class SparsityDiagnosticsTests
{
    /// <summary>Keys needed to reach each level of a descending-sorted share, as a fraction of n.</summary>
    private static double[] Coverage(double[] weights, int n)
    {
        double total = weights.Sum();
        var sorted = weights.Select(w => w / total).OrderByDescending(w => w).ToArray();
        return EntropyCoverage.Levels.Select(level =>
        {
            double cumulative = 0;
            int count = 0;
            while (count < sorted.Length && cumulative + 0 < level - 1e-12) cumulative += sorted[count++];
            return Math.Min(Math.Max(count, 1), n) / (double)n;
        }).ToArray();
    }

    [Fact]
    public void Dropped_mass_and_sink_free_and_norm_weighted_coverage_equal_their_definitions()
    {
        var c = new InterventionCase();
        var probe = new SparsityDiagnostics(memoryBudgetBytes: 50_000); // several blocks of rows
        var seam = new AttentionSeam();
        using (seam.Attach(probe))
            seam.Attend(c.Site, c.Q, c.K, c.V, c.Layout, c.Layout, c.Mask, c.Scale).Dispose();
        var results = probe.Results().ToDictionary(r => r.Key.ToString(), r => r.Value!.to(ScalarType.Float64));
        var reference = c.Reference();
        var v = c.V.data<double>().ToArray();
        int d = (int)InterventionCase.HeadDim, keys = reference.Keys, queries = reference.Queries;
        for (int b = 0; b < reference.Batch; b++)
        {
            var valid = reference.ValidRow(b);
            int n = valid.Count(x => x);
            for (int h = 0; h < reference.Heads; h++)
            {
                var rows = Enumerable.Range(0, queries).Select(i => reference.Probabilities(b, h, i)).ToArray();
                var received = Enumerable.Range(0, keys).Select(j => rows.Sum(r => r[j])).ToArray();
                int sink = Array.IndexOf(received, received.Max());
                var norms = Enumerable.Range(0, keys).Select(j =>
                    Math.Sqrt(Enumerable.Range(0, d).Sum(x => Math.Pow(v[((b * reference.Heads + h) * keys + j) * d + x], 2)))).ToArray();
                for (int s = 0; s < SparsityDiagnostics.SparsityLevels.Length; s++)
                {
                    int drop = (int)Math.Floor(n * SparsityDiagnostics.SparsityLevels[s]);
                    double expected = rows.Average(r => r.Where((_, j) => valid[j]).Order().Take(drop).Sum());
                    Assert.Equal(expected, results[$"{c.Site.Name}.dropped_mass"][b, h, s].item<double>(), 6);
                }
                var without = rows.Select(r => Coverage(r.Select((p, j) => j == sink || !valid[j] ? 0 : p).ToArray(), n - (valid[sink] ? 1 : 0))).ToArray();
                var weighted = rows.Select(r => Coverage(r.Select((p, j) => valid[j] ? p * norms[j] : 0).ToArray(), n)).ToArray();
                for (int l = 0; l < EntropyCoverage.Levels.Length; l++)
                {
                    Assert.Equal(without.Average(x => x[l]), results[$"{c.Site.Name}.coverage_without_sinks"][b, h, l].item<double>(), 6);
                    Assert.Equal(weighted.Average(x => x[l]), results[$"{c.Site.Name}.norm_weighted_coverage"][b, h, l].item<double>(), 6);
                }
            }
        }
    }
}
