using System.Text.RegularExpressions;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>
/// Runs one generation with interventions attached and probes reading the conditional branch (cond and uncond run
/// as separate calls, so every probed call is whole): received mass and entropy per (site, step), over the video
/// query rows only (joint attention's text queries are left out).
/// </summary>
public static partial class ProbedGeneration
{
    public static ProbedRun Run(ITextToVideoPipeline pipeline, GenerationRequest request, int run, ProbeFilter sites,
        IEnumerable<IAttentionIntervention>? interventions = null, bool measure = true, long memoryBudgetBytes = 256L << 20)
    {
        if (request.Prompts.Count != 1) throw new VDiTLensException("a probed run takes exactly one prompt");
        var filter = sites with { Branches = new[] { "cond" } };
        var mass = new ReceivedMass();
        var entropy = new EntropyCoverage(coverageStride: int.MaxValue);
        var videoMass = new VideoQueryRows(mass);
        var probe = new AttentionMapProbe(new IAttentionStatistic[] { videoMass, new VideoQueryRows(entropy) }, filter, ProbeGrouping.Step, memoryBudgetBytes);
        var attached = new List<IDisposable>();
        try
        {
            foreach (var i in interventions ?? Array.Empty<IAttentionIntervention>()) attached.Add(pipeline.Seam.Attach(i));
            if (measure) attached.Add(pipeline.Seam.Attach(probe));
            using var latents = pipeline.Denoise(request with { BatchGuidance = false });
            var video = pipeline.DecodeLatents(latents);
            return new ProbedRun
            {
                Prompt = request.Prompts[0],
                Seed = request.Seed,
                Run = run,
                Latents = latents.cpu().clone(),
                Video = video,
                Mass = BySiteStep(mass.Results(), "received_mass", t => t.mean(new long[] { 0 })),
                Entropy = BySiteStep(entropy.Results().Where(kv => kv.Key.EndsWith(".entropy", StringComparison.Ordinal)), "entropy", t => t.mean(new long[] { 0 })),
                Layouts = mass.Layouts.GroupBy(kv => SiteStep(kv.Key + ".x", "x").Site).ToDictionary(g => g.Key, g => g.First().Value),
                ValidKeys = videoMass.ValidKeys.GroupBy(kv => SiteStep(kv.Key + ".x", "x").Site).ToDictionary(g => g.Key, g => g.First().Value),
            };
        }
        finally
        {
            foreach (var a in attached) a.Dispose();
        }
    }

    private static Dictionary<(string, int), Tensor> BySiteStep(IEnumerable<KeyValuePair<string, Tensor>> results, string suffix, Func<Tensor, Tensor> reduce)
    {
        var map = new Dictionary<(string, int), Tensor>();
        foreach (var (key, value) in results)
        {
            map[SiteStep(key, suffix)] = reduce(value).DetachFromDisposeScope();
            value.Dispose();
        }
        return map;
    }

    /// <summary>Splits "blocks.3.attn1.step7.received_mass" into ("blocks.3.attn1", 7).</summary>
    public static (string Site, int Step) SiteStep(string key, string suffix)
    {
        var m = KeyPattern().Match(key[..^(suffix.Length + 1)]);
        if (!m.Success) throw new VDiTLensException($"probe result '{key}' is not grouped by step");
        return (m.Groups["site"].Value, int.Parse(m.Groups["step"].Value));
    }

    [GeneratedRegex(@"^(?<site>.+)\.step(?<step>-?\d+)$")]
    private static partial Regex KeyPattern();
}
