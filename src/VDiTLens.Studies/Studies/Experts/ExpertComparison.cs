using System.Globalization;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using VDiTLens.Studies.Structure;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Experts;

/// <summary>One expert's attention at one self-attention site, averaged over its steps, the prompts and the heads.</summary>
/// <param name="TopMass">Mass the most-attended key receives (received_mass maximum over keys): the sink signal.</param>
/// <param name="TopRatio">That mass over the uniform share 1/Lk.</param>
/// <param name="Entropy">Mean per-query entropy in nats.</param>
/// <param name="Coverage90">Fraction of keys holding 90 % of a query's mass (lower = sparser).</param>
public sealed record ExpertSiteStatistics(string Site, int Layer, string Expert, double TopMass, double TopRatio, double Entropy, double Coverage90);

/// <summary>The two experts at one site: their frame maps compared (structure) and the differences low − high noise.</summary>
public sealed record ExpertSiteComparison(string Site, int Layer, MapComparison FrameMaps,
    double TopMassDifference, double EntropyDifference, double Coverage90Difference);

public sealed record ExpertComparisonResult(IReadOnlyList<ExpertSiteStatistics> Statistics, IReadOnlyList<ExpertSiteComparison> Comparisons);

/// <summary>
/// Structure, sinks and sparsity of the two experts of a Wan2.2 A14B pipeline, compared site by site on one generation:
/// the self-attention of the conditional branch probed with results kept apart per expert
/// (<see cref="ProbeGrouping.Expert"/>), so each expert's statistics average over exactly the steps it denoised.
/// </summary>
public static class ExpertComparison
{
    public static readonly string[] Experts = { AttentionRunState.MainExpert, WanExperts.Second };

    /// <summary>Generates <paramref name="request"/> with the probes attached and summarises them.</summary>
    public static ExpertComparisonResult Run(WanPipeline pipeline, GenerationRequest request, long memoryBudgetBytes = 256L << 20)
    {
        if (pipeline.Experts.Transformer2 is null)
            throw new VDiTLensException($"{pipeline.Folder.IndexFile}: the expert comparison needs a two-expert pipeline (Wan2.2 A14B: transformer_2 and boundary_ratio)");
        using var probes = new ProbeSet(pipeline.Seam, Options(memoryBudgetBytes));
        pipeline.Generate(request).Dispose();
        using var results = probes.Results();
        return Summarise(results, pipeline.Sites.Where(s => s.Kind == AttentionKind.Self).ToList());
    }

    /// <summary>The probes the comparison reads: frame maps, received mass, entropy and coverage of cond self-attention, per expert.</summary>
    public static ProbeOptions Options(long memoryBudgetBytes) => new()
    {
        Probes = new[] { "frame", "mass", "entropy" },
        Filter = new AttentionSelector { Sites = new[] { "self" }, Branches = new[] { "cond" } },
        Grouping = ProbeGrouping.Expert,
        MemoryBudgetBytes = memoryBudgetBytes,
    };

    public static ExpertComparisonResult Summarise(ProbeResults results, IReadOnlyList<AttentionSite> sites)
    {
        var statistics = new List<ExpertSiteStatistics>();
        var comparisons = new List<ExpertSiteComparison>();
        foreach (var site in sites)
        {
            var perExpert = new Dictionary<string, (ExpertSiteStatistics Stats, Tensor FrameMap)>();
            foreach (var expert in Experts)
            {
                var group = new ProbeGroup(site.Name, Expert: expert);
                if (!results.TryGetValue(new ProbeKey(group, "received_mass"), out var mass)) continue;
                using var scope = torch.NewDisposeScope();
                var m = mass.to(ScalarType.Float64);
                double top = m.amax(new long[] { -1 }).mean().item<double>();
                double entropy = results[new ProbeKey(group, "entropy")].to(ScalarType.Float64).mean().item<double>();
                double coverage = results[new ProbeKey(group, "coverage_fraction")].to(ScalarType.Float64).select(-1, 1).mean().item<double>();
                var frameMap = results[new ProbeKey(group, "frame_map")].to(ScalarType.Float64).mean(new long[] { 0, 1 }).DetachFromDisposeScope();
                var stats = new ExpertSiteStatistics(site.Name, site.Layer, expert, top, top * m.shape[^1], entropy, coverage);
                statistics.Add(stats);
                perExpert[expert] = (stats, frameMap);
            }
            if (perExpert.Count == 2)
            {
                var (high, low) = (perExpert[Experts[0]], perExpert[Experts[1]]);
                comparisons.Add(new ExpertSiteComparison(site.Name, site.Layer, MapSimilarity.Compare(high.FrameMap, low.FrameMap),
                    low.Stats.TopMass - high.Stats.TopMass, low.Stats.Entropy - high.Stats.Entropy, low.Stats.Coverage90 - high.Stats.Coverage90));
            }
            foreach (var (_, map) in perExpert.Values) map.Dispose();
        }
        return new ExpertComparisonResult(statistics, comparisons);
    }

    /// <summary>Writes <c>experts.csv</c> (per site and expert) and <c>expert_pairs.csv</c> (per site) into <paramref name="directory"/>.</summary>
    public static IReadOnlyList<string> Write(ExpertComparisonResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
        string stats = Path.Combine(directory, "experts.csv"), pairs = Path.Combine(directory, "expert_pairs.csv");
        File.WriteAllLines(stats, new[] { "site,layer,expert,top_mass,top_ratio,entropy,coverage90_fraction" }
            .Concat(result.Statistics.Select(s => $"{s.Site},{s.Layer},{s.Expert},{F(s.TopMass)},{F(s.TopRatio)},{F(s.Entropy)},{F(s.Coverage90)}")));
        File.WriteAllLines(pairs, new[] { "site,layer,frame_map_pearson,frame_map_cosine,frame_map_jensen_shannon,top_mass_low_minus_high,entropy_low_minus_high,coverage90_low_minus_high" }
            .Concat(result.Comparisons.Select(c => $"{c.Site},{c.Layer},{F(c.FrameMaps.Pearson)},{F(c.FrameMaps.Cosine)},{F(c.FrameMaps.JensenShannon)},{F(c.TopMassDifference)},{F(c.EntropyDifference)},{F(c.Coverage90Difference)}")));
        return new[] { stats, pairs };
    }
}
