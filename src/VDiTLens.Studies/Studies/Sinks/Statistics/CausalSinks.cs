using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Statistics;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>
/// The sinks of one causal self-attention layer over N sequences of T tokens. Every statistic is computed per sequence
/// first; the estimates are their mean over sequences with a percentile-bootstrap 95 % CI (sequences are the units).
/// </summary>
/// <param name="FirstKeyMass">Gu's α of the first token (α_0, the mean over all queries of their attention to it), averaged over heads.</param>
/// <param name="FirstKeyMassPerHead">α_0 per head, mean over sequences.</param>
/// <param name="UniformFirstKeyMass">α_0 under uniform causal attention, H_T / T (H_T the T-th harmonic number).</param>
/// <param name="TopShare">Per head, the largest share of its attention on one key (mean over all queries); averaged over heads.</param>
/// <param name="TopKeyPerHead">Per head, the key with the largest mean received mass over sequences.</param>
/// <param name="SinkEpsilon">Share of heads with α_0 above ε (Gu's Sink^ε of the first token, for this layer).</param>
/// <param name="CausalRatio">Per key j, α_j (mean over the queries that can see j, heads and sequences) ÷ its uniform-causal value u_j.</param>
public sealed record CausalLayerSinks(string Site, int Layer, int Keys, int Sequences, Estimate FirstKeyMass, double[] FirstKeyMassPerHead,
    double UniformFirstKeyMass, Estimate TopShare, int[] TopKeyPerHead, Estimate SinkEpsilon, double[] CausalRatio);

/// <summary>Every layer's <see cref="CausalLayerSinks"/> and Gu's model-level Sink^ε of the first token (mean over layers, per sequence).</summary>
public sealed record CausalSinkProfile(IReadOnlyList<CausalLayerSinks> Layers, Estimate ModelSinkEpsilon, double Epsilon, int Sequences, int Length)
{
    public string Statement(string model)
    {
        var mass = Layers.Select(l => l.FirstKeyMass.Value).ToArray();
        return $"{model}: the first token receives α₁ = {mass.Min():F3}–{mass.Max():F3} of a head's attention per layer (mean over heads and {Sequences} sequences " +
               $"of {Length} tokens; uniform causal attention gives {Layers[0].UniformFirstKeyMass:F3}); Gu's Sink^ε (ε = {Epsilon:G3}) of the first token = {ModelSinkEpsilon}.";
    }
}

/// <summary>
/// Causal received mass (Gu et al.): α_j = 1/(T − j) Σ_{q ≥ j} A_{q,j}, the mean over the queries that can see key j,
/// compared with uniform causal attention (query q gives 1/(q + 1) to each key it sees).
/// </summary>
public static class CausalSinks
{
    /// <summary>u_j = 1/(T − j) Σ_{q = j}^{T − 1} 1/(q + 1): α_j under uniform causal attention.</summary>
    public static double[] UniformBaseline(int t)
    {
        if (t < 1) throw new VDiTLensException($"uniform causal baseline needs at least one key (got {t})");
        var u = new double[t];
        double tail = 0;
        for (int j = t - 1; j >= 0; j--)
        {
            tail += 1.0 / (j + 1);
            u[j] = tail / (t - j);
        }
        return u;
    }

    /// <param name="receivedMass">[N, H, T]: per sequence, the attention each key receives averaged over all T queries (the <c>ReceivedMass</c> probe).</param>
    public static CausalLayerSinks Layer(AttentionSite site, Tensor receivedMass, double epsilon, Bootstrap? bootstrap = null) =>
        Layer(site, PerSequence(receivedMass), epsilon, bootstrap ?? new Bootstrap());

    /// <param name="layers">Each layer's site and [N, H, T] received mass over the same N sequences.</param>
    public static CausalSinkProfile Of(IReadOnlyList<(AttentionSite Site, Tensor ReceivedMass)> layers, double epsilon, Bootstrap? bootstrap = null)
    {
        if (layers.Count == 0) throw new VDiTLensException("causal sink profile needs at least one layer");
        bootstrap ??= new Bootstrap();
        var perSequence = layers.Select(l => PerSequence(l.ReceivedMass)).ToList();
        int n = perSequence[0].Count;
        if (perSequence.Any(p => p.Count != n)) throw new VDiTLensException("causal sink profile: every layer must be measured on the same sequences");
        var results = layers.Zip(perSequence, (l, p) => Layer(l.Site, p, epsilon, bootstrap)).ToList();
        var model = Enumerable.Range(0, n).Select(s => EpsilonSinks.ModelLevel(perSequence.Select(p => CausalMass.FromAllQueryMean(p[s])).ToList(), 0, epsilon)).ToArray();
        return new CausalSinkProfile(results, bootstrap.Mean(model), epsilon, n, results[0].Keys);
    }

    private static CausalLayerSinks Layer(AttentionSite site, IReadOnlyList<HeadMassMatrix> sequences, double epsilon, Bootstrap bootstrap)
    {
        if (!(epsilon > 0 && epsilon < 1)) throw new VDiTLensException($"ε must lie in (0, 1) (got {epsilon})");
        int heads = sequences[0].Heads, t = sequences[0].Keys;
        var causal = sequences.Select(CausalMass.FromAllQueryMean).ToList();
        var firstKey = causal.Select(c => c.Mass.Average(row => row[0])).ToArray();
        var top = sequences.Select(m => HeadMassStatistics.Of(m, 1).Average(h => h.TopMass)).ToArray();
        var share = causal.Select(c => EpsilonSinks.ModelLevel(new[] { c }, 0, epsilon)).ToArray();
        var perHead = Enumerable.Range(0, heads).Select(h => causal.Average(c => c.Mass[h][0])).ToArray();
        var mean = HeadMassMatrix.Mean(sequences);
        var topKeys = HeadMassStatistics.Of(mean, 1).Select(h => h.TopPosition).ToArray();
        var causalMean = CausalMass.FromAllQueryMean(mean).HeadMean();
        var uniform = UniformBaseline(t);
        return new CausalLayerSinks(site.Name, site.Layer, t, sequences.Count, bootstrap.Mean(firstKey), perHead, uniform[0],
            bootstrap.Mean(top), topKeys, bootstrap.Mean(share), causalMean.Select((a, j) => a / uniform[j]).ToArray());
    }

    private static IReadOnlyList<HeadMassMatrix> PerSequence(Tensor receivedMass)
    {
        if (receivedMass.dim() != 3) throw new VDiTLensException($"causal received mass must be [sequences, heads, keys]; got [{string.Join(", ", receivedMass.shape)}]");
        return Enumerable.Range(0, (int)receivedMass.shape[0]).Select(s => HeadMassMatrix.From(receivedMass[s])).ToList();
    }
}
