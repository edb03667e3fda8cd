using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Llama;
using VDiTLens.Probes;
using VDiTLens.Studies.Sinks.Statistics;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>
/// Sink metrics of a causal language model: per layer, the causal statistics (<see cref="CausalSinks"/>: the first
/// token's α, top-1 share, Sink^ε, each with a CI over sequences, and α_j against uniform causal attention), the
/// detector's sinks on the mean over all queries (<see cref="SinkDetector"/>), key/value norms and residual magnitudes.
/// </summary>
public sealed record LlmSinkProfile(int Sequences, int Length, CausalSinkProfile Causal, IReadOnlyList<SiteSinks> Layers,
    IReadOnlyList<ResidualStats> Residuals, IReadOnlyList<NormComparison> Norms)
{
    /// <summary>
    /// [sequences, length] uniform random token ids, the first one <paramref name="bosId"/> when given (as a language
    /// model is normally fed).
    /// </summary>
    public static Tensor RandomIds(int vocabulary, int sequences, int length, long seed, long? bosId)
    {
        if (sequences < 2) throw new VDiTLensException($"sequences {sequences}: the sink statistics need at least 2 sequences (their CI is over sequences)");
        if (length < 2) throw new VDiTLensException($"length {length}: a sequence needs at least 2 tokens");
        var ids = torch.randint(0, vocabulary, new long[] { sequences, length }, generator: new Generator((ulong)seed), dtype: ScalarType.Int64);
        if (bosId is { } bos) ids[TensorIndex.Colon, 0] = torch.tensor(bos);
        return ids;
    }

    /// <summary>
    /// Runs <paramref name="ids"/> [sequences, length] through the model with probes. The detector's ratio is taken on the
    /// mean over all queries, where causal masking alone gives the first key Σ_{q} 1/(q+1) = H_T times the mean key
    /// (≈ ln T + 0.58), so its threshold should sit well above that.
    /// </summary>
    public static LlmSinkProfile Measure(LlamaForCausalLM lm, SinkCriteria criteria, Tensor ids)
    {
        criteria.Validate();
        if (ids.dim() != 2 || ids.shape[0] < 2) throw new VDiTLensException($"token ids must be [sequences ≥ 2, length]; got [{string.Join(", ", ids.shape)}]");
        using var scope = torch.NewDisposeScope();
        int sequences = (int)ids.shape[0], length = (int)ids.shape[1];
        var mass = new ReceivedMass();
        var qkv = new QkvCapture();
        var residuals = new List<ResidualStats>();
        var layout = TokenLayout.Text(length);
        lm.model.LayerOutputs = (key, h) => { using (h) residuals.Add(ResidualMagnitudes.Measure(key, h, layout)); };
        try
        {
            using (lm.Seam.Attach(new AttentionMapProbe(new[] { mass })))
            using (lm.Seam.Attach(qkv))
            using (torch.no_grad())
                lm.Forward(ids).Dispose();
        }
        finally { lm.model.LayerOutputs = null; }
        var results = mass.Results().ToDictionary(r => r.Key, r => r.Value!);
        using var captured = qkv.Results();
        qkv.Dispose();
        var layers = new List<SiteSinks>();
        var norms = new List<NormComparison>();
        var perSequence = new List<(AttentionSite, Tensor)>();
        foreach (var site in lm.model.Sites)
        {
            var group = new ProbeGroup(site.Name);
            var received = results[new ProbeKey(group, "received_mass")];
            perSequence.Add((site, received));
            var sinks = SinkDetector.Detect(received, layout, criteria, site);
            layers.Add(sinks);
            norms.Add(TokenNorms.Compare(site.Name, captured[new ProbeKey(group, "k")], captured[new ProbeKey(group, "v")], sinks.Positions.ToArray()));
        }
        var causal = CausalSinks.Of(perSequence, criteria.Epsilon);
        foreach (var t in results.Values) t.Dispose();
        return new LlmSinkProfile(sequences, length, causal, layers, residuals, norms);
    }
}
