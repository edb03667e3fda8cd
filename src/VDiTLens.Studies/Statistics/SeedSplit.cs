namespace VDiTLens.Statistics;

/// <summary>
/// Development and held-out seeds of a study: whatever is chosen (layers, bands, temperatures) is chosen on the
/// development seeds only and reported on the held-out ones only.
/// </summary>
public static class SeedSplit
{
    /// <summary>Refuses an empty development list, fewer than 2 held-out seeds, a repeated seed and a seed in both lists.</summary>
    public static void Validate(IReadOnlyList<long> dev, IReadOnlyList<long> test)
    {
        if (dev.Count == 0) throw new VDiTLensException("DevSeeds: at least one development seed is needed (the choice is made on them)");
        if (test.Count < 2) throw new VDiTLensException($"TestSeeds: {test.Count} held-out seed(s); at least 2 are needed");
        if (dev.Distinct().Count() != dev.Count || test.Distinct().Count() != test.Count)
            throw new VDiTLensException("DevSeeds/TestSeeds: a seed is listed twice");
        var shared = dev.Intersect(test).ToArray();
        if (shared.Length > 0)
            throw new VDiTLensException($"DevSeeds and TestSeeds share seed(s) {string.Join(", ", shared)}; held-out seeds must not be used for selection");
    }
}
