using VDiTLens.Reports;
using VDiTLens.Statistics;

namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>
/// Writes the length-invariant sink statistics: <c>sinks/statistics.json</c>, one row per (run, step, site, head) in
/// <c>sinks/statistics_per_step.csv</c>, and an HTML part with the per-site table and Gu's model-level Sink^ε.
/// </summary>
public static class SinkStatisticsReport
{
    public static string Write(HtmlReport report, SinkStatisticsResult result)
    {
        string dir = Path.GetDirectoryName(report.Asset("sinks/x"))!;
        SinkReportWriter.WriteJson(Path.Combine(dir, "statistics.json"), new { result.Runs, result.Options.TopK, result.Options.Epsilon, result.ModelLevel, result.Sites });
        SinkReportWriter.WriteCsv(Path.Combine(dir, "statistics_per_step.csv"),
            new[] { "run", "prompt", "seed", "step", "site", "kind", "head", "valid_keys", "top_position", "top_location", "top_mass", "top_k_mass",
                "median_ratio", "mean_key_ratio", "frame0_mass", "cluster_mass", "normalised_entropy" },
            result.Rows.Select(r => new[] { r.Run.ToString(), r.Prompt, r.Seed.ToString(), r.Step.ToString(), r.Site, r.Kind, r.Head.ToString(),
                r.ValidKeys.ToString(), r.TopPosition.ToString(), r.TopLocation.Replace(", ", ";"), F(r.TopMass), F(r.TopKMass), F(r.MedianRatio),
                F(r.MeanKeyRatio), F(r.FirstFrameMass), F(r.ClusterMass), F(r.NormalisedEntropy) }));
        string html = $"<h3>Length-invariant sink statistics ({result.Runs} runs; CIs: percentile bootstrap over runs)</h3>"
            + "<p>Top mass: share of a head's attention on its strongest valid key, over video queries; max over heads. "
            + "Per-step: at every (run, step) before averaging. The ratio to the mean key (= top mass × valid keys) grows with the key count: compare it only at equal length.</p>"
            + HtmlReport.Table(new[] { "site", "keys", "top mass (aggregate)", "per step median / q90 / max", "run mean [95% CI]", "top-k mass",
                    "ratio to median", "ratio to mean key", $"max share of heads > ε={F(result.Options.Epsilon)} (key)", "distinct top-1 / obs (modal, share)",
                    "sets: mass ÷ uniform share", "entropy ÷ ln keys [95% CI]" },
                result.Sites.Select(s => new[] { s.Site, s.ValidKeys.ToString(), F(s.StrongestHead.TopMass),
                    $"{F(s.PerStepTopMass.Median)} / {F(s.PerStepTopMass.Q90)} / {F(s.PerStepTopMass.Max)}", Ci(s.RunTopMass),
                    F(s.Aggregate.Max(h => h.TopKMass)), F(s.Aggregate.Max(h => h.MedianRatio)), F(s.Aggregate.Max(h => h.MeanKeyRatio)),
                    $"{F(s.SiteMaxShare)} ({s.SiteMaxShareLocation})",
                    $"{s.Identity.DistinctTopKeys} / {s.Identity.Observations} ({s.Identity.ModalLocation}, {F(s.Identity.ModalShare)})",
                    string.Join("; ", s.Sets.Select(x => $"{x.Name} (n={F(x.Size)}): {F(x.MeanMass)} ÷ {F(x.UniformShare)} = {F(x.MeanOverUniform)}")),
                    Ci(s.NormalisedEntropy) }))
            + "<p>Gu et al.'s model-level Sink^ε_k: the share of (layer, head) pairs whose received mass on key k exceeds ε.</p>"
            + HtmlReport.Table(new[] { "sites", "k", "layers", "aggregate", "per step median / max", "run mean [95% CI]" },
                result.ModelLevel.Select(g => new[] { g.Group, $"{g.Key} ({g.KeyLocation})", g.Layers.ToString(), F(g.Aggregate),
                    $"{F(g.PerStep.Median)} / {F(g.PerStep.Max)}", Ci(g.RunMean) }));
        return html;
    }

    private static string F(double x) => SinkReportWriter.Format(x);

    private static string Ci(Estimate e) => double.IsNaN(e.Low) ? $"{F(e.Value)} (n={e.N})" : $"{F(e.Value)} [{F(e.Low)}, {F(e.High)}] (n={e.N})";
}
