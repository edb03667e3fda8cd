using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>Mean Jaccard of a site's top-k receivers between steps (within a run), prompts (same seed) and seeds (same prompt); NaN where there was nothing to compare.</summary>
public sealed record SitePersistence(string Site, double AcrossSteps, double AcrossPrompts, double AcrossSeeds);

/// <summary>Sinks per (run, site, step), per site over all runs and steps, and their persistence.</summary>
public sealed record SinkDetection(IReadOnlyList<SiteSinks> PerStep, IReadOnlyList<SiteSinks> PerRun, IReadOnlyList<SiteSinks> Aggregate, IReadOnlyList<SitePersistence> Persistence)
{
    public SiteSinks? Of(string site) => Aggregate.FirstOrDefault(s => s.Site == site);
}

public static class SinkAnalysis
{
    public static SinkDetection Analyse(IReadOnlyList<ProbedRun> runs, IReadOnlyList<AttentionSite> sites, SinkCriteria criteria)
    {
        var perStep = new List<SiteSinks>();
        var perRun = new List<SiteSinks>();
        var aggregate = new List<SiteSinks>();
        var persistence = new List<SitePersistence>();
        foreach (var site in sites)
        {
            var measured = runs.Where(r => r.Layouts.ContainsKey(site.Name)).ToList();
            if (measured.Count == 0) continue;
            var layout = measured[0].Layouts[site.Name];
            var runLevel = new List<SiteSinks>();
            var stepJaccards = new List<double>();
            foreach (var run in measured)
            {
                var steps = run.Mass.Where(kv => kv.Key.Site == site.Name).OrderBy(kv => kv.Key.Step)
                    .Select(kv => SinkDetector.Detect(kv.Value, run.Layouts[site.Name], criteria, site, kv.Key.Step, run.Run)).ToList();
                perStep.AddRange(steps);
                double j = SinkPersistence.MeanPairwise(steps.Select(s => s.TopK).ToList());
                if (!double.IsNaN(j)) stepJaccards.Add(j);
                runLevel.Add(RunLevel(run, site, criteria));
            }
            perRun.AddRange(runLevel);
            using (var all = torch.stack(measured.Select(r => r.StepMean(site.Name)).ToArray()).mean(new long[] { 0 }))
                aggregate.Add(SinkDetector.Detect(all, layout, criteria, site));
            persistence.Add(new SitePersistence(site.Name,
                stepJaccards.Count == 0 ? double.NaN : stepJaccards.Average(),
                Across(measured, runLevel, r => r.Seed, r => r.Prompt),
                Across(measured, runLevel, r => r.Prompt, r => r.Seed)));
        }
        return new SinkDetection(perStep, perRun, aggregate, persistence);
    }

    /// <summary>
    /// The sinks of one run at every site it measured (in site order), from its own step-averaged mass and key layout:
    /// the same entries as that run's in <see cref="SinkDetection.PerRun"/>, and all that ablating or tempering the run needs.
    /// </summary>
    public static IReadOnlyList<SiteSinks> OfRun(ProbedRun run, IReadOnlyList<AttentionSite> sites, SinkCriteria criteria) =>
        sites.Where(s => run.Layouts.ContainsKey(s.Name)).Select(s => RunLevel(run, s, criteria)).ToList();

    private static SiteSinks RunLevel(ProbedRun run, AttentionSite site, SinkCriteria criteria)
    {
        using var mean = run.StepMean(site.Name);
        return SinkDetector.Detect(mean, run.Layouts[site.Name], criteria, site, -1, run.Run);
    }

    /// <summary>Mean pairwise Jaccard among runs that share <paramref name="fixedKey"/> and differ in <paramref name="varyingKey"/>.</summary>
    private static double Across<TFixed, TVarying>(IReadOnlyList<ProbedRun> runs, IReadOnlyList<SiteSinks> detections,
        Func<ProbedRun, TFixed> fixedKey, Func<ProbedRun, TVarying> varyingKey)
    {
        var values = new List<double>();
        foreach (var group in Enumerable.Range(0, runs.Count).GroupBy(i => fixedKey(runs[i])))
        {
            var members = group.ToList();
            if (members.Select(i => varyingKey(runs[i])).Distinct().Count() < 2) continue;
            double j = SinkPersistence.MeanPairwise(members.Select(i => detections[i].TopK).ToList());
            if (!double.IsNaN(j)) values.Add(j);
        }
        return values.Count == 0 ? double.NaN : values.Average();
    }
}
