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
public static class ProbedGeneration
{
    public static ProbedRun Run(ITextToVideoPipeline pipeline, GenerationRequest request, int run, AttentionSelector sites,
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

                Entropy = BySiteStep(entropy.Results(), "entropy", t => t.mean(new long[] { 0 })),
                Layouts = mass.Layouts.GroupBy(kv => kv.Key.Site).ToDictionary(g => g.Key, g => g.First().Value),
                ValidKeys = videoMass.ValidKeys.GroupBy(kv => kv.Key.Site).ToDictionary(g => g.Key, g => g.First().Value),
            };
        }
        finally
        {
            foreach (var a in attached) a.Dispose();
            probe.Dispose();
        }
    }

    /// <summary>The reduced results of one statistic by (site, step); every other result is disposed.</summary>
    private static Dictionary<(string, int), Tensor> BySiteStep(IEnumerable<ProbeResult> results, string statistic, Func<Tensor, Tensor> reduce)
    {
        var map = new Dictionary<(string, int), Tensor>();
        foreach (var (key, value, _, _) in results)
        {
            if (value is null) continue;
            if (key.Statistic == statistic)
                map[(key.Site, key.Step ?? throw new InvalidOperationException($"probe result '{key}' is not grouped by step"))] = reduce(value).DetachFromDisposeScope();
            value.Dispose();
        }
        return map;
    }
}
