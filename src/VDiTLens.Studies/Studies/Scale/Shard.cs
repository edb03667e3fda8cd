using System.Globalization;

namespace VDiTLens.Studies.Scale;

/// <summary>One share of a study's cells: shard <see cref="Index"/> (0-based) of <see cref="Count"/>.</summary>
public sealed record Shard(int Index, int Count)
{
    /// <summary>The whole study in one process.</summary>
    public static readonly Shard All = new(0, 1);

    public bool IsAll => Count == 1;

    /// <summary>"i/n", e.g. "0/4".</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
        {
            var shard = new Shard(i, n);
            shard.Validate();
            return shard;
        }
        throw new VDiTLensException($"shard '{text}': write it as i/n with 0 ≤ i < n, e.g. 0/4");
    }

    public void Validate()
    {
        if (Count < 1 || Index < 0 || Index >= Count)
            throw new VDiTLensException($"shard {Index}/{Count}: the index must be in 0..{Count - 1} (0-based) and the count at least 1");
    }

    public override string ToString() => $"{Index}/{Count}";
}

/// <summary>
/// Deterministic, cost-balanced assignment of cells to shards (longest cost first onto the least-loaded shard, ties to
/// the lower shard; cells of equal cost in id order), so every process computes the same assignment from the same plan.
/// </summary>
public static class ShardAssignment
{
    /// <summary>The shard index of every cell id.</summary>
    public static IReadOnlyDictionary<string, int> Assign(IEnumerable<(string Id, double Cost)> cells, int shards)
    {
        if (shards < 1) throw new VDiTLensException($"shard count {shards}: must be at least 1");
        var load = new double[shards];
        var owner = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (id, cost) in cells.OrderByDescending(c => c.Cost).ThenBy(c => c.Id, StringComparer.Ordinal))
        {
            int best = 0;
            for (int s = 1; s < shards; s++) if (load[s] < load[best]) best = s;
            load[best] += cost;
            if (!owner.TryAdd(id, best)) throw new VDiTLensException($"cell '{id}' is planned twice");
        }
        return owner;
    }
}
