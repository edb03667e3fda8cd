using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Probes;

/// <summary>Naive statistics of a dense probability tensor p [B, H, Lq, Lk], written with plain loops in float64.</summary>
internal static class ProbeReference
{
    public static double[,,] ReceivedMass(double[,,,] p)
    {
        int b = p.GetLength(0), h = p.GetLength(1), lq = p.GetLength(2), lk = p.GetLength(3);
        var r = new double[b, h, lk];
        for (int i = 0; i < b; i++) for (int j = 0; j < h; j++) for (int q = 0; q < lq; q++) for (int k = 0; k < lk; k++)
            r[i, j, k] += p[i, j, q, k] / lq;
        return r;
    }

    /// <summary>Pooled map with groups per position (-1 = skipped), rows renormalised over pooled keys if asked.</summary>
    public static double[,,,] Pooled(double[,,,] p, long[] qGroups, int qCount, long[] kGroups, int kCount, bool renormalise)
    {
        int b = p.GetLength(0), h = p.GetLength(1), lq = p.GetLength(2), lk = p.GetLength(3);
        var r = new double[b, h, qCount, kCount];
        var counts = new int[qCount];
        for (int q = 0; q < lq; q++) if (qGroups[q] >= 0) counts[qGroups[q]]++;
        for (int i = 0; i < b; i++) for (int j = 0; j < h; j++) for (int q = 0; q < lq; q++)
        {
            if (qGroups[q] < 0) continue;
            var row = new double[kCount];
            for (int k = 0; k < lk; k++) if (kGroups[k] >= 0) row[kGroups[k]] += p[i, j, q, k];
            double total = renormalise ? row.Sum() : 1.0;
            for (int g = 0; g < kCount; g++) r[i, j, qGroups[q], g] += row[g] / (total > 0 ? total : 1) / counts[qGroups[q]];
        }
        return r;
    }

    public static (double[,] Entropy, double[,,] Coverage) EntropyCoverage(double[,,,] p, double[] levels)
    {
        int b = p.GetLength(0), h = p.GetLength(1), lq = p.GetLength(2), lk = p.GetLength(3);
        var entropy = new double[b, h];
        var coverage = new double[b, h, levels.Length];
        for (int i = 0; i < b; i++) for (int j = 0; j < h; j++) for (int q = 0; q < lq; q++)
        {
            var row = Enumerable.Range(0, lk).Select(k => p[i, j, q, k]).ToArray();
            entropy[i, j] -= row.Where(x => x > 0).Sum(x => x * Math.Log(x)) / lq;
            var sorted = row.OrderByDescending(x => x).ToArray();
            for (int l = 0; l < levels.Length; l++)
            {
                double cum = 0;
                int n = 0;
                while (n < lk && cum < levels[l]) cum += sorted[n++];
                coverage[i, j, l] += (double)n / lq;
            }
        }
        return (entropy, coverage);
    }

    public static double[,,,] ToArray4(Tensor t)
    {
        var c = t.to(ScalarType.Float64).cpu().contiguous();
        var data = c.data<double>().ToArray();
        var s = c.shape;
        var r = new double[s[0], s[1], s[2], s[3]];
        Buffer.BlockCopy(data, 0, r, 0, data.Length * 8);
        return r;
    }

    public static Tensor FromArray(Array a)
    {
        var shape = Enumerable.Range(0, a.Rank).Select(i => (long)a.GetLength(i)).ToArray();
        var flat = new double[a.Length];
        Buffer.BlockCopy(a, 0, flat, 0, a.Length * 8);
        return torch.tensor(flat).reshape(shape);
    }
}
