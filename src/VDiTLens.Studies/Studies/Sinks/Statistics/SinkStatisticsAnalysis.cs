using VDiTLens.Attention;
using VDiTLens.Statistics;

namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>
/// Length-invariant sink statistics of every site: per head and (run, step) first, then their spread, the aggregate
/// beside it, key sets (frame 0; clusters of identical keys), the identity of the top sink, normalised entropy, and
/// Gu et al.'s model-level Sink^ε, each headline with a percentile-bootstrap CI over runs.
/// </summary>
public static class SinkStatisticsAnalysis
{
    /// <param name="clusters">Per (prompt, site), the largest group of identical keys (<see cref="KeyClusters"/>), counted as a set.</param>
    public static SinkStatisticsResult Analyse(IReadOnlyList<SiteObservations> sites, SinkStatisticsOptions options,
        IReadOnlyDictionary<(string Prompt, string Site), int[]>? clusters = null)
    {
        options.Validate();
        var rows = new List<StepHeadRow>();
        var result = new List<SiteStatistics>();
        foreach (var site in sites.Where(s => s.Observations.Count > 0))
        {
            var frame0 = KeySet.Frame(site.Layout, 0);
            bool hasClusters = clusters is not null && site.Observations.Any(o => clusters.ContainsKey((o.Prompt, site.Site.Name)));
            var sets = new List<Func<SinkObservation, KeySet?>>();
            if (frame0 is not null) sets.Add(_ => frame0);
            if (hasClusters)
                sets.Add(o => clusters!.TryGetValue((o.Prompt, site.Site.Name), out var c) ? new KeySet(ClusterSet, c) : new KeySet(ClusterSet, Array.Empty<int>()));
            result.Add(Site(site, sets, frame0 is not null, hasClusters, options, rows));
        }
        var gu = new List<GuSinkScore>();
        foreach (var group in new[] { ("self/joint", new[] { "self", "joint" }), ("cross", new[] { "cross" }) })
        {
            var members = sites.Where(s => s.Observations.Count > 0 && group.Item2.Contains(Kind(s.Site))).ToList();
            if (members.Count > 0) gu.Add(ModelLevel(group.Item1, members, options));
        }
        return new SinkStatisticsResult(result, gu, rows, sites.SelectMany(s => s.Observations).Select(o => o.Run).Distinct().Count(), options);
    }

    /// <summary>Name of the set of the largest identical-key cluster (e.g. the padding rows of a prompt).</summary>
    public const string ClusterSet = "largest identical-key cluster";

    private static SiteStatistics Site(SiteObservations site, IReadOnlyList<Func<SinkObservation, KeySet?>> sets, bool hasFrame0, bool hasClusters,
        SinkStatisticsOptions options, List<StepHeadRow> rows)
    {
        var obs = site.Observations;
        string kind = Kind(site.Site);
        var perStepTop = new List<double>();
        var perStepRatio = new List<double>();
        var perStepShare = new List<double>();
        var topKeys = new List<int>();
        int heads = obs[0].Mass.Heads;
        var headTopKeys = Enumerable.Range(0, heads).Select(_ => new List<int>()).ToArray();
        var setPerStep = sets.Select(_ => new List<double>()).ToArray();
        var setMeans = sets.Select(_ => new List<SetMass>()).ToArray();
        var setPerRun = sets.Select(_ => new Dictionary<int, List<double>>()).ToArray();
        var topPerRun = new Dictionary<int, List<double>>();
        var entropyPerRun = new Dictionary<int, List<double>>();
        foreach (var o in obs)
        {
            var stats = HeadMassStatistics.Of(o.Mass, options.TopK);
            double top = stats.Max(h => h.TopMass);
            perStepTop.Add(top);
            perStepRatio.Add(stats.Max(h => h.MeanKeyRatio));
            perStepShare.Add(EpsilonSinks.SiteMaxShare(o.Mass, options.Epsilon).Share);
            topKeys.Add(ArgMax(o.Mass));
            foreach (var h in stats) headTopKeys[h.Head].Add(h.TopPosition);
            Add(topPerRun, o.Run, top);
            var keySets = sets.Select(f => f(o)!).ToArray();
            var setMasses = keySets.Select(s => SetMass.Of(o.Mass, s)).ToArray();
            for (int i = 0; i < sets.Count; i++)
            {
                setPerStep[i].Add(setMasses[i].MaxMass);
                setMeans[i].Add(setMasses[i]);
                Add(setPerRun[i], o.Run, setMasses[i].MeanMass);
            }
            var firstFrame = hasFrame0 ? keySets[0].Keys.ToHashSet() : null;
            var cluster = hasClusters ? keySets[^1] : null;
            double[] normalised = o.Entropy?.Select(e => NormalisedEntropy.Of(e, o.Mass.ValidKeys)).ToArray() ?? Array.Empty<double>();
            if (normalised.Length > 0) Add(entropyPerRun, o.Run, normalised.Average());
            foreach (var h in stats)
            {
                double frame = firstFrame is null ? double.NaN : o.Mass.Mass[h.Head].Where((_, j) => firstFrame.Contains(j) && o.Mass.IsValid(j)).Sum();
                double clusterMass = cluster is null ? double.NaN : cluster.Keys.Sum(j => o.Mass.Mass[h.Head][j]);
                rows.Add(new StepHeadRow(o.Run, o.Prompt, o.Seed, o.Step, site.Site.Name, kind, h.Head, h.ValidKeys, h.TopPosition,
                    site.Layout.Describe(h.TopPosition), h.TopMass, h.TopKMass, h.MedianRatio, h.MeanKeyRatio, frame, clusterMass,
                    h.Head < normalised.Length ? normalised[h.Head] : double.NaN));
            }
        }
        var aggregate = HeadMassMatrix.Mean(obs.Select(o => o.Mass).ToList());
        var (share, shareKey) = EpsilonSinks.SiteMaxShare(aggregate, options.Epsilon);
        var boot = options.Bootstrap;
        var setStats = sets.Select((_, i) => new SetStatistics(setMeans[i][0].Name, Quantiles.Median(setMeans[i].Select(m => (double)m.Size)),
            setMeans[i].Average(m => m.UniformShare), setMeans[i].Average(m => m.MeanMass),
            Distribution.Of(setPerStep[i]), boot.Mean(RunMeans(setPerRun[i])))).ToList();
        return new SiteStatistics(site.Site.Name, site.Site.Layer, kind, aggregate.ValidKeys,
            HeadMassStatistics.Of(aggregate, options.TopK), Distribution.Of(perStepTop), Distribution.Of(perStepRatio), boot.Mean(RunMeans(topPerRun)),
            share, shareKey < 0 ? "" : site.Layout.Describe(shareKey), Distribution.Of(perStepShare),
            TopSinkIdentity.Of(topKeys, k => site.Layout.Describe(k)),
            headTopKeys.Select(k => TopSinkIdentity.Of(k, j => site.Layout.Describe(j))).ToList(),
            setStats, boot.Mean(RunMeans(entropyPerRun)));
    }

    private static GuSinkScore ModelLevel(string group, IReadOnlyList<SiteObservations> sites, SinkStatisticsOptions options)
    {
        int key = options.GuKey;
        // One (run, step) observation is the model at that moment: every site of the group measured there.
        var byMoment = sites.SelectMany(s => s.Observations).GroupBy(o => (o.Run, o.Step))
            .Where(g => g.Count() == sites.Count).ToList();
        var perStep = new List<double>();
        var perRun = new Dictionary<int, List<double>>();
        foreach (var g in byMoment)
        {
            double v = EpsilonSinks.ModelLevel(g.Select(o => o.Mass).ToList(), key, options.Epsilon);
            perStep.Add(v);
            Add(perRun, g.Key.Run, v);
        }
        var aggregates = sites.Select(s => HeadMassMatrix.Mean(s.Observations.Select(o => o.Mass).ToList())).ToList();
        return new GuSinkScore(group, key, sites[0].Layout.Describe(key), options.Epsilon, sites.Count,
            EpsilonSinks.ModelLevel(aggregates, key, options.Epsilon), Distribution.Of(perStep), options.Bootstrap.Mean(RunMeans(perRun)));
    }

    private static int ArgMax(HeadMassMatrix m)
    {
        var mean = m.HeadMean();
        int best = -1;
        for (int j = 0; j < mean.Length; j++)
            if (m.IsValid(j) && (best < 0 || mean[j] > mean[best])) best = j;
        return best;
    }

    private static string Kind(AttentionSite site) => site.Kind.ToString().ToLowerInvariant();

    private static void Add(Dictionary<int, List<double>> perRun, int run, double value)
    {
        if (double.IsNaN(value)) return;
        (perRun.TryGetValue(run, out var list) ? list : perRun[run] = new List<double>()).Add(value);
    }

    private static double[] RunMeans(Dictionary<int, List<double>> perRun) => perRun.OrderBy(kv => kv.Key).Select(kv => kv.Value.Average()).ToArray();
}
