namespace VDiTLens.Tests.Studies.Sinks.Statistics;

/// <summary>
/// Attention maps built directly in float64, independent of the library: each query row is
/// share·(a planted target distribution) + (1 − share)·(softmax of seeded Gaussian logits over a background key set).
/// </summary>
internal static class PlantedMaps
{
    /// <param name="shares">Planted share per head (0: no plant).</param>
    /// <param name="target">Keys the planted share is spread over uniformly.</param>
    /// <param name="background">Keys the rest is spread over by a random softmax (null: every key).</param>
    /// <returns>p[h][i][k].</returns>
    public static double[][][] Build(int queries, int keys, double[] shares, int[] target, int[]? background, int seed)
    {
        var random = new Random(seed);
        var bg = background ?? Enumerable.Range(0, keys).ToArray();
        var p = new double[shares.Length][][];
        for (int h = 0; h < shares.Length; h++)
        {
            p[h] = new double[queries][];
            for (int i = 0; i < queries; i++)
            {
                var row = new double[keys];
                var logits = bg.Select(_ => Gaussian(random)).ToArray();
                double max = logits.Max(), z = logits.Sum(l => Math.Exp(l - max));
                for (int n = 0; n < bg.Length; n++) row[bg[n]] += (1 - shares[h]) * Math.Exp(logits[n] - max) / z;
                foreach (int t in target) row[t] += shares[h] / target.Length;
                p[h][i] = row;
            }
        }
        return p;
    }

    /// <summary>Received mass by the definition: α[h][k] = (1 / rows) Σ_i p[h][i][k] over <paramref name="rows"/> (default all).</summary>
    public static double[][] ReceivedMass(double[][][] p, IEnumerable<int>? rows = null)
    {
        var use = (rows ?? Enumerable.Range(0, p[0].Length)).ToArray();
        return p.Select(head =>
        {
            var mass = new double[head[0].Length];
            foreach (int i in use)
                for (int k = 0; k < mass.Length; k++) mass[k] += head[i][k] / use.Length;
            return mass;
        }).ToArray();
    }

    public static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
