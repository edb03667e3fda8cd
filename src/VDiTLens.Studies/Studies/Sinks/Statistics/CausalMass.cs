namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>
/// Received mass under causal masking as Gu et al. define it: α_k = 1/(T − k) Σ_{i ≥ k} A_{i,k} (0-based k), the mean
/// over the queries that can see key k. The probe averages over all T queries, and queries before k give k
/// nothing, so α_k = mean_all_k × T / (T − k): exact for k = 0, larger for later keys.
/// </summary>
public static class CausalMass
{
    public static HeadMassMatrix FromAllQueryMean(HeadMassMatrix allQueries)
    {
        int t = allQueries.Keys;
        return new HeadMassMatrix(allQueries.Mass.Select(row => row.Select((x, k) => x * t / (t - k)).ToArray()).ToArray(), allQueries.Valid);
    }
}
