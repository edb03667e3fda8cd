using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Llama;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>The same sink metrics on a causal language model: per layer, its sinks and residual magnitudes.</summary>
public sealed record LlmSinkProfile(IReadOnlyList<SiteSinks> Layers, IReadOnlyList<ResidualStats> Residuals, IReadOnlyList<NormComparison> Norms)
{
    /// <summary>
    /// Runs <paramref name="sequences"/> sequences of <paramref name="length"/> random token ids (the first one
    /// <paramref name="bosId"/> when given, as a language model is normally fed) through the model with probes.
    /// Causal masking alone gives key j mass Σ_{q≥j} 1/(q+1) / L under uniform attention (≈ ln L times the mean for the
    /// first key), so the ratio threshold should sit well above ln L.
    /// </summary>
    public static LlmSinkProfile Measure(LlamaForCausalLM lm, SinkCriteria criteria, int length, int sequences, long seed, long? bosId)
    {
        using var scope = torch.NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var ids = torch.randint(0, lm.Config.vocab_size, new long[] { sequences, length }, generator: generator, dtype: ScalarType.Int64);
        if (bosId is { } bos) ids[TensorIndex.Colon, 0] = torch.tensor(bos);
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
        foreach (var site in lm.model.Sites)
        {
            var group = new ProbeGroup(site.Name);
            var sinks = SinkDetector.Detect(results[new ProbeKey(group, "received_mass")], layout, criteria, site);
            layers.Add(sinks);
            norms.Add(TokenNorms.Compare(site.Name, captured[new ProbeKey(group, "k")], captured[new ProbeKey(group, "v")], sinks.Positions.ToArray()));
        }
        foreach (var t in results.Values) t.Dispose();
        return new LlmSinkProfile(layers, residuals, norms);
    }
}
