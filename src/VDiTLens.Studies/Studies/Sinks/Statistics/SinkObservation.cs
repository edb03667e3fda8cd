using VDiTLens.Attention;

namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>The received mass (and entropy per head, nats, when measured) of one site at one step of one run.</summary>
public sealed record SinkObservation(int Run, string Prompt, long Seed, int Step, HeadMassMatrix Mass, double[]? Entropy);

/// <summary>Everything measured at one site: its key layout and its observations over runs and steps.</summary>
public sealed record SiteObservations(AttentionSite Site, TokenLayout Layout, IReadOnlyList<SinkObservation> Observations)
{
    /// <summary>From probed generations (their conditional-branch received mass and entropy per step).</summary>
    public static IReadOnlyList<SiteObservations> From(IReadOnlyList<ProbedRun> runs, IReadOnlyList<AttentionSite> sites)
    {
        var result = new List<SiteObservations>();
        foreach (var site in sites)
        {
            var measured = runs.Where(r => r.Layouts.ContainsKey(site.Name)).ToList();
            if (measured.Count == 0) continue;
            var observations = new List<SinkObservation>();
            foreach (var run in measured)
            {
                run.ValidKeys.TryGetValue(site.Name, out var valid);
                foreach (var ((s, step), mass) in run.Mass.Where(kv => kv.Key.Site == site.Name).OrderBy(kv => kv.Key.Step))
                {
                    double[]? entropy = run.Entropy.TryGetValue((s, step), out var e)
                        ? e.to(TorchSharp.torch.ScalarType.Float64).cpu().data<double>().ToArray() : null;
                    observations.Add(new SinkObservation(run.Run, run.Prompt, run.Seed, step, HeadMassMatrix.From(mass, valid), entropy));
                }
            }
            result.Add(new SiteObservations(site, measured[0].Layouts[site.Name], observations));
        }
        return result;
    }
}
