using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>Pearson correlation, cosine similarity and mean row Jensen–Shannon divergence of two pooled maps.</summary>
public sealed record MapComparison(double Pearson, double Cosine, double JensenShannon)
{
    public static readonly string[] Metrics = { "pearson", "cosine", "js" };

    /// <summary>Per-metric mean of the finite values (null when there is nothing to average).</summary>
    public static MapComparison? Mean(IEnumerable<MapComparison> comparisons)
    {
        var list = comparisons.ToList();
        if (list.Count == 0) return null;
        static double M(IEnumerable<double> v)
        {
            var finite = v.Where(double.IsFinite).ToList();
            return finite.Count == 0 ? double.NaN : finite.Average();
        }
        return new MapComparison(M(list.Select(c => c.Pearson)), M(list.Select(c => c.Cosine)), M(list.Select(c => c.JensenShannon)));
    }

    public double Get(string metric) => metric switch
    {
        "pearson" => Pearson,
        "cosine" => Cosine,
        "js" => JensenShannon,
        _ => throw new VDiTLensException($"unknown similarity metric '{metric}' (use {string.Join(", ", Metrics)})"),
    };
}

/// <summary>
/// Similarity of two attention maps of the same shape (e.g. head-averaged frame × frame maps [Gq, Gk], or per head
/// [H, Gq, Gk]), computed in float64 over all entries:
/// <list type="bullet">
/// <item>Pearson correlation of the entries; 1 for identical maps, NaN when either map is constant and they differ.</item>
/// <item>Cosine similarity of the entries; NaN when either map is all zero and they differ.</item>
/// <item>Jensen–Shannon divergence in bits (log base 2, so in [0, 1]) between matching rows (the last axis), each row
/// renormalised to sum 1, averaged over rows; rows with no mass in either map are skipped.</item>
/// </list>
/// All three are symmetric in their arguments.
/// </summary>
public static class MapSimilarity
{
    public static MapComparison Compare(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape) || a.dim() < 1)
            throw new VDiTLensException($"maps to compare must have the same shape; got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}]");
        return Compare(Values(a), Values(b), (int)a.shape[^1]);
    }

    /// <summary>Compares two flat maps whose rows (the last axis) have <paramref name="rowLength"/> entries.</summary>
    public static MapComparison Compare(IReadOnlyList<double> a, IReadOnlyList<double> b, int rowLength) =>
        new(Pearson(a, b), Cosine(a, b), MeanJensenShannon(a, b, rowLength));

    public static double Pearson(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        CheckLengths(a, b);
        if (a.SequenceEqual(b)) return 1.0;
        double ma = a.Average(), mb = b.Average();
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.Count; i++)
        {
            double da = a[i] - ma, db = b[i] - mb;
            sab += da * db;
            saa += da * da;
            sbb += db * db;
        }
        return saa == 0 || sbb == 0 ? double.NaN : Math.Clamp(sab / Math.Sqrt(saa * sbb), -1, 1);
    }

    public static double Cosine(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        CheckLengths(a, b);
        if (a.SequenceEqual(b) && a.Any(v => v != 0)) return 1.0;
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Count; i++)
        {
            ab += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }
        return aa == 0 || bb == 0 ? double.NaN : Math.Clamp(ab / Math.Sqrt(aa * bb), -1, 1);
    }

    /// <summary>Mean over rows of length <paramref name="rowLength"/> of the Jensen–Shannon divergence (bits).</summary>
    public static double MeanJensenShannon(IReadOnlyList<double> a, IReadOnlyList<double> b, int rowLength)
    {
        CheckLengths(a, b);
        if (rowLength < 1 || a.Count % rowLength != 0)
            throw new VDiTLensException($"map of {a.Count} entries does not split into rows of {rowLength}");
        double total = 0;
        int rows = 0;
        for (int start = 0; start < a.Count; start += rowLength)
        {
            double sa = 0, sb = 0;
            for (int j = 0; j < rowLength; j++)
            {
                sa += Math.Max(a[start + j], 0);
                sb += Math.Max(b[start + j], 0);
            }
            if (sa == 0 || sb == 0) continue;
            double js = 0;
            for (int j = 0; j < rowLength; j++)
            {
                double p = Math.Max(a[start + j], 0) / sa, q = Math.Max(b[start + j], 0) / sb, m = (p + q) / 2;
                if (p > 0) js += 0.5 * p * Math.Log2(p / m);
                if (q > 0) js += 0.5 * q * Math.Log2(q / m);
            }
            total += Math.Max(js, 0);
            rows++;
        }
        return rows == 0 ? double.NaN : total / rows;
    }

    private static double[] Values(Tensor t)
    {
        using var cpu = t.detach().cpu().to(ScalarType.Float64).contiguous();
        return cpu.data<double>().ToArray();
    }

    private static void CheckLengths(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count) throw new VDiTLensException($"maps to compare have {a.Count} and {b.Count} entries");
    }
}
