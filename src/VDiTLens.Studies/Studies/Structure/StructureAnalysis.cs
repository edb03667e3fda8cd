namespace VDiTLens.Studies.Structure;

/// <summary>How alike one site's maps are across prompts, seeds, steps (and another model), for the head average or one head.</summary>
/// <param name="CrossPrompt">Same seed and step, different prompts; mean over seeds, steps and prompt pairs.</param>
/// <param name="CrossSeed">Same prompt and step, different seeds; mean over prompts, steps and seed pairs.</param>
/// <param name="CrossStep">Each earlier step against the final step, same prompt and seed; mean over all of them.</param>
/// <param name="CrossModel">Same prompt, seed and step against the other model's site of the same name (when its grid matches).</param>
public sealed record SimilaritySummary(MapComparison? CrossPrompt, MapComparison? CrossSeed, MapComparison? CrossStep, MapComparison? CrossModel);

/// <summary>The structure study's result for one site and map kind.</summary>
/// <param name="PearsonToFinalStep">Per step, the Pearson correlation with the final step's map (head average; mean over prompts and seeds).</param>
/// <param name="PromptPearson">Prompt × prompt Pearson correlation (head average; mean over seeds and steps).</param>
public sealed record SiteStructure(
    string Site, int Layer, string Kind, int Groups, int Heads,
    SimilaritySummary HeadAverage,
    IReadOnlyList<SimilaritySummary> PerHead,
    double[] PearsonToFinalStep,
    double[][] PromptPearson);

/// <summary>Compares pooled maps across prompts, seeds, steps and models.</summary>
public static class StructureAnalysis
{
    public static IReadOnlyList<SiteStructure> Analyse(StructureMaps maps, StructureMaps? other = null)
    {
        var result = new List<SiteStructure>();
        foreach (var site in maps.Sites)
        {
            if (!maps.Complete(site.Name)) continue;
            var (heads, groups) = maps.Shapes[site.Name];
            bool comparable = other is not null && other.Complete(site.Name) && other.Shapes[site.Name].Groups == groups
                && other.Prompts == maps.Prompts && other.Seeds == maps.Seeds && other.Steps == maps.Steps;
            bool headsMatch = comparable && other!.Shapes[site.Name].Heads == heads;
            var average = Summarise(maps, comparable ? other : null, site.Name, -1);
            var perHead = Enumerable.Range(0, heads).Select(h => Summarise(maps, headsMatch ? other : null, site.Name, h)).ToList();
            result.Add(new SiteStructure(site.Name, site.Layer, maps.Kind, groups, heads, average, perHead,
                PearsonToFinal(maps, site.Name), PromptMatrix(maps, site.Name)));
        }
        return result;
    }

    private static SimilaritySummary Summarise(StructureMaps m, StructureMaps? other, string site, int head)
    {
        int g = m.Shapes[site].Groups, last = m.Steps - 1;
        var prompts = new List<MapComparison>();
        var seeds = new List<MapComparison>();
        var steps = new List<MapComparison>();
        var models = new List<MapComparison>();
        for (int s = 0; s < m.Seeds; s++)
        for (int t = 0; t < m.Steps; t++)
        for (int p = 0; p < m.Prompts; p++)
        {
            var map = m.Map(site, s, t, p, head);
            for (int q = p + 1; q < m.Prompts; q++) prompts.Add(MapSimilarity.Compare(map, m.Map(site, s, t, q, head), g));
            for (int s2 = s + 1; s2 < m.Seeds; s2++) seeds.Add(MapSimilarity.Compare(map, m.Map(site, s2, t, p, head), g));
            if (t < last) steps.Add(MapSimilarity.Compare(map, m.Map(site, s, last, p, head), g));
            if (other is not null) models.Add(MapSimilarity.Compare(map, other.Map(site, s, t, p, head), g));
        }
        return new SimilaritySummary(MapComparison.Mean(prompts), MapComparison.Mean(seeds), MapComparison.Mean(steps),
            other is null ? null : MapComparison.Mean(models));
    }

    private static double[] PearsonToFinal(StructureMaps m, string site)
    {
        int last = m.Steps - 1;
        return Enumerable.Range(0, m.Steps).Select(t =>
        {
            var values = new List<double>();
            for (int s = 0; s < m.Seeds; s++)
            for (int p = 0; p < m.Prompts; p++)
                values.Add(MapSimilarity.Pearson(m.Map(site, s, t, p), m.Map(site, s, last, p)));
            var finite = values.Where(double.IsFinite).ToList();
            return finite.Count == 0 ? double.NaN : finite.Average();
        }).ToArray();
    }

    private static double[][] PromptMatrix(StructureMaps m, string site)
    {
        var matrix = new double[m.Prompts][];
        for (int p = 0; p < m.Prompts; p++)
        {
            matrix[p] = new double[m.Prompts];
            for (int q = 0; q < m.Prompts; q++)
            {
                var values = new List<double>();
                for (int s = 0; s < m.Seeds; s++)
                for (int t = 0; t < m.Steps; t++)
                    values.Add(MapSimilarity.Pearson(m.Map(site, s, t, p), m.Map(site, s, t, q)));
                var finite = values.Where(double.IsFinite).ToList();
                matrix[p][q] = finite.Count == 0 ? double.NaN : finite.Average();
            }
        }
        return matrix;
    }
}
