namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// Kept and total (unmasked) query-key pairs per site, summed over every call a sparsifier ran on.
/// Density = kept ÷ total; 1 means dense.
/// </summary>
public sealed class DensityMeter
{
    private readonly Dictionary<string, (double Kept, double Total)> _sums = new();

    public void Add(string site, double kept, double total)
    {
        var (k, t) = _sums.GetValueOrDefault(site);
        _sums[site] = (k + kept, t + total);
    }

    public IReadOnlyDictionary<string, double> BySite =>
        _sums.ToDictionary(kv => kv.Key, kv => kv.Value.Total > 0 ? kv.Value.Kept / kv.Value.Total : 1.0);

    public double Of(string site) =>
        _sums.TryGetValue(site, out var s) ? (s.Total > 0 ? s.Kept / s.Total : 1.0)
            : throw new VDiTLensException($"no density was measured at site '{site}' (the sparsifier never ran there)");

    /// <summary>Density over all sites together (pair-weighted).</summary>
    public double Overall
    {
        get
        {
            double kept = _sums.Values.Sum(s => s.Kept), total = _sums.Values.Sum(s => s.Total);
            return total > 0 ? kept / total : 1.0;
        }
    }
}
