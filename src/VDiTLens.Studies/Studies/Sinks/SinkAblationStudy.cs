using VDiTLens.Attention;
using VDiTLens.Interventions;

namespace VDiTLens.Studies.Sinks;

/// <summary>
/// The interventions that remove a run's sinks, per site and head (each head loses exactly the keys that are outliers in
/// it), and the matched control: in each (site, head), as many random keys that are not sinks of that head.
/// </summary>
public static class SinkAblationStudy
{
    public static IReadOnlyList<IAttentionIntervention> SinkAblations(IEnumerable<SiteSinks> sites, SinkAblationMode mode) =>
        Build(sites, mode, (_, head) => head.Sinks);

    public static IReadOnlyList<IAttentionIntervention> RandomAblations(IEnumerable<SiteSinks> sites, SinkAblationMode mode, long seed) =>
        Build(sites, mode, (site, head) =>
        {
            var random = new Random(StableSeed.Of(seed, StableSeed.Of(site.Site), head.Head, site.Run));
            var exclude = head.Sinks.ToHashSet();
            var candidates = Enumerable.Range(0, (int)site.Keys).Select(i => (long)i).Where(i => !exclude.Contains(i)).ToArray();
            random.Shuffle(candidates);
            return candidates.Take(head.Sinks.Count).Order().ToArray();
        });

    /// <summary>Number of (head, key) pairs the sink ablation removes.</summary>
    public static int Count(IEnumerable<SiteSinks> sites) => sites.Sum(s => s.Heads.Sum(h => h.Sinks.Count));

    private static IReadOnlyList<IAttentionIntervention> Build(IEnumerable<SiteSinks> sites, SinkAblationMode mode, Func<SiteSinks, HeadSinks, IReadOnlyList<long>> positions)
    {
        var result = new List<IAttentionIntervention>();
        foreach (var site in sites)
            foreach (var head in site.Heads.Where(h => h.Sinks.Count > 0))
            {
                var keys = positions(site, head);
                if (keys.Count == 0) continue;
                result.Add(new SinkAblation(
                    new SinkPositions { BySite = new Dictionary<string, IReadOnlyList<long>> { [site.Site] = keys } },
                    mode, new AttentionSelector { Sites = new[] { site.Site }, Heads = new[] { (long)head.Head } }));
            }
        return result;
    }
}
