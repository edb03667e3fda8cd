using VDiTLens.Tests.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Interventions;

/// <summary>Each sparsifier's keep rule written independently with plain loops, for <see cref="DenseReference"/>.</summary>
internal static class ReferenceRules
{
    private static IEnumerable<int> ValidKeys(bool[] valid) => Enumerable.Range(0, valid.Length).Where(j => valid[j]);

    public static DenseReference.KeepRule BottomK(double sparsity) => (_, _, _, p, valid) =>
    {
        var keys = ValidKeys(valid).ToArray();
        int drop = (int)Math.Floor(keys.Length * sparsity);
        var keep = valid.Select(_ => true).ToArray();
        foreach (int j in keys.OrderBy(j => p[j]).ThenBy(j => j).Take(drop)) keep[j] = false;
        return keep;
    };

    public static DenseReference.KeepRule TopK(int count) => (_, _, _, p, valid) =>
    {
        var keep = new bool[valid.Length];
        foreach (int j in ValidKeys(valid).OrderByDescending(j => p[j]).ThenBy(j => j).Take(count)) keep[j] = true;
        return keep;
    };

    public static DenseReference.KeepRule Threshold(double tau) => (_, _, _, p, _) => p.Select(x => x >= tau).ToArray();

    public static DenseReference.KeepRule BlockTopK(Tensor q, Tensor k, double scale, int blockSize, double sparsity, int? queryBlockSize = null)
    {
        int queryBlock = queryBlockSize ?? blockSize;
        var (qa, ka) = (ProbeReference.ToArray4(q), ProbeReference.ToArray4(k));
        int lq = qa.GetLength(2), lk = ka.GetLength(2), d = qa.GetLength(3);
        int nk = (lk + blockSize - 1) / blockSize;
        int keepCount = nk - (int)Math.Floor(sparsity * nk);
        double[] Pool(double[,,,] x, int b, int h, int block, int length, int size)
        {
            var mean = new double[d];
            int end = Math.Min(length, (block + 1) * size);
            for (int t = block * size; t < end; t++) for (int c = 0; c < d; c++) mean[c] += x[b, h, t, c] / (end - block * size);
            return mean;
        }
        return (b, h, i, _, valid) =>
        {
            var pq = Pool(qa, b, h, i / queryBlock, lq, queryBlock);
            var scores = Enumerable.Range(0, nk).Select(kb => Pool(ka, b, h, kb, lk, blockSize).Select((x, c) => x * pq[c]).Sum() * scale).ToArray();
            var kept = Enumerable.Range(0, nk).OrderByDescending(kb => scores[kb]).ThenBy(kb => kb).Take(keepCount).ToHashSet();
            return Enumerable.Range(0, valid.Length).Select(j => kept.Contains(j / blockSize)).ToArray();
        };
    }

    public static DenseReference.KeepRule SlidingTile((int F, int H, int W) tile, (int F, int H, int W) window) => (_, _, i, _, valid) =>
    {
        var g = InterventionCase.Grid;
        static bool Inside(int queryCoord, int keyCoord, int tile, int window, int size)
        {
            int tiles = (size + tile - 1) / tile;
            int start = Math.Clamp(queryCoord / tile - window / 2, 0, Math.Max(0, tiles - window));
            return keyCoord / tile >= start && keyCoord / tile < start + window;
        }
        var qc = InterventionCase.Coordinates(i);
        return Enumerable.Range(0, valid.Length).Select(j =>
        {
            if (qc is not { } a || InterventionCase.Coordinates(j) is not { } c) return true;
            return Inside(a.F, c.F, tile.F, window.F, g.Frames) && Inside(a.Y, c.Y, tile.H, window.H, g.Height) && Inside(a.X, c.X, tile.W, window.W, g.Width);
        }).ToArray();
    };

    public static bool Spatial(int i, int j, int radius) =>
        InterventionCase.Coordinates(i) is not { } a || InterventionCase.Coordinates(j) is not { } c || Math.Abs(a.F - c.F) <= radius;

    public static bool Temporal(int i, int j) =>
        InterventionCase.Coordinates(i) is not { } a || InterventionCase.Coordinates(j) is not { } c || (a.Y == c.Y && a.X == c.X);

    public static DenseReference.KeepRule WithSinks(DenseReference.KeepRule rule, params int[] sinks) => (b, h, i, p, valid) =>
    {
        var keep = rule(b, h, i, p, valid);
        foreach (int s in sinks) keep[s] = true;
        return keep;
    };
}
