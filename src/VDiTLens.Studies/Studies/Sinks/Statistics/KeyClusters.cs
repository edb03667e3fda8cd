using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>
/// Groups keys that are the same vector in every head (up to a relative tolerance): e.g. Wan's zero-padded prompt
/// rows, which all become k_proj(0) after normalisation and so share one attention logit per query. Such a set can
/// absorb most of the attention with no single key standing out.
/// </summary>
public static class KeyClusters
{
    public const int MaxKeys = 8192;

    /// <param name="keys">[B, H, L, D] or [H, L, D] as the kernel saw them (batch row 0 is used).</param>
    /// <param name="relativeTolerance">Two keys are identical when ‖k_i − k_j‖ ≤ tolerance × the mean key norm, in every head.</param>
    /// <returns>Clusters of at least <paramref name="minSize"/> keys, largest first; each lists its positions ascending.</returns>
    public static IReadOnlyList<int[]> NearIdentical(Tensor keys, double relativeTolerance = 1e-4, int minSize = 2)
    {
        if (!(relativeTolerance >= 0)) throw new VDiTLensException($"key-cluster tolerance must be ≥ 0 (got {relativeTolerance})");
        using var scope = torch.NewDisposeScope();
        var k = keys.detach().cpu().to(ScalarType.Float64);
        if (k.dim() == 4) k = k[0];
        if (k.dim() != 3) throw new VDiTLensException($"keys must be [batch, heads, length, dim] or [heads, length, dim]; got [{string.Join(", ", keys.shape)}]");
        long length = k.shape[1];
        if (length > MaxKeys) throw new VDiTLensException($"key clusters compare every pair of keys; {length} keys exceed the limit of {MaxKeys} (use them on text keys)");
        double tolerance = relativeTolerance * k.norm(-1).mean().item<double>();
        // Largest per-head distance between every pair of keys.
        var perHead = torch.cdist(k, k); // [H, L, L]
        var distance = perHead.amax(new long[] { 0 }).data<double>().ToArray();
        var assigned = new bool[length];
        var clusters = new List<int[]>();
        for (int i = 0; i < length; i++)
        {
            if (assigned[i]) continue;
            var members = new List<int> { i };
            for (int j = i + 1; j < length; j++)
                if (!assigned[j] && distance[i * length + j] <= tolerance) members.Add(j);
            foreach (int j in members) assigned[j] = true;
            if (members.Count >= minSize) clusters.Add(members.ToArray());
        }
        return clusters.OrderByDescending(c => c.Length).ThenBy(c => c[0]).ToList();
    }
}
