namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>
/// Two different statistics built on Gu et al.'s threshold ε ("When Attention Sink Emerges in Language Models",
/// ICLR 2025), where a head h of layer l "sinks" on key k when its received mass α_k exceeds ε:
/// <list type="bullet">
/// <item><see cref="ModelLevel"/>: Gu's Sink^ε_k = (1/L) Σ_l (1/H) Σ_h 1[α^{l,h}_k > ε] for one fixed key k (the first
/// token by default), over every layer of the model: the share of (layer, head) pairs that sink on k.</item>
/// <item><see cref="SiteMaxShare"/>: at one site, the largest share of heads above ε over all keys, and which key
/// has it. Not Gu's statistic: it looks for a sink anywhere, not at a fixed key.</item>
/// </list>
/// Both are absolute (shares of attention), so they compare across sequence lengths.
/// </summary>
public static class EpsilonSinks
{
    public static double ModelLevel(IReadOnlyList<HeadMassMatrix> layers, int key, double epsilon)
    {
        Check(epsilon);
        if (layers.Count == 0) throw new VDiTLensException("Sink^ε needs at least one layer");
        double sum = 0;
        foreach (var layer in layers)
        {
            if (key < 0 || key >= layer.Keys) throw new VDiTLensException($"Sink^ε key {key} is outside a layer of {layer.Keys} keys");
            sum += (double)layer.Mass.Count(row => row[key] > epsilon) / layer.Heads;
        }
        return sum / layers.Count;
    }

    /// <summary>(share of heads, key) maximising the share of heads whose mass on that key exceeds ε; ties: the lowest key.</summary>
    public static (double Share, int Key) SiteMaxShare(HeadMassMatrix site, double epsilon)
    {
        Check(epsilon);
        double best = 0;
        int at = -1;
        for (int j = 0; j < site.Keys; j++)
        {
            if (!site.IsValid(j)) continue;
            double share = (double)site.Mass.Count(row => row[j] > epsilon) / site.Heads;
            if (share > best) (best, at) = (share, j);
        }
        return (best, at);
    }

    private static void Check(double epsilon)
    {
        if (!(epsilon > 0 && epsilon < 1)) throw new VDiTLensException($"ε must lie in (0, 1) (got {epsilon})");
    }
}
