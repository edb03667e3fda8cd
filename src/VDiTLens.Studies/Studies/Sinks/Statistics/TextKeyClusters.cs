using VDiTLens.Attention;
using VDiTLens.Pipelines;
using VDiTLens.Probes;

namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>
/// The largest group of identical text keys of every cross-attention site, per prompt (for Wan, whose prompt
/// embeddings are zero-padded and unmasked: the padding rows). Text keys do not depend on the step or the seed, so
/// one two-step generation per prompt is enough.
/// </summary>
public static class TextKeyClusters
{
    public static IReadOnlyDictionary<(string Prompt, string Site), int[]> Find(ITextToVideoPipeline pipeline, GenerationRequest template,
        IReadOnlyList<string> prompts, double relativeTolerance = 1e-4)
    {
        var result = new Dictionary<(string, string), int[]>();
        var cross = pipeline.Sites.Where(s => s.Kind == AttentionKind.Cross).Select(s => s.Name).ToHashSet();
        if (cross.Count == 0) return result;
        foreach (var prompt in prompts.Distinct())
        {
            using var capture = new QkvCapture(new AttentionSelector { Sites = new[] { "cross" }, Steps = new[] { 0 }, Branches = new[] { "cond" } });
            using (pipeline.Seam.Attach(capture))
            using (pipeline.Denoise(template with { Prompts = new[] { prompt }, Steps = 2, BatchGuidance = false, InitialLatents = null })) { }
            using var captured = capture.Results();
            foreach (var (key, k) in captured.Of("k"))
            {
                string site = key.Site;
                if (!cross.Contains(site) || k.shape[2] > KeyClusters.MaxKeys) continue;
                var clusters = KeyClusters.NearIdentical(k, relativeTolerance);
                if (clusters.Count > 0) result[(prompt, site)] = clusters[0];
            }
        }
        return result;
    }
}
