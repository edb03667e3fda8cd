using System.Globalization;
using System.Text;
using VDiTLens.Reports;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// Per-sample similarities of the structure study, one row per (arm = model, prompt, seed, map kind, site), head
/// average, mean over steps: how alike this sample's maps are to the other prompts' of the same seed, to the same
/// prompt's under the other seeds, to its own final step, and (with a compared model) to the other model's.
/// </summary>
public static class StructureSamples
{
    public const string Header = "arm,prompt_index,prompt,seed,kind,site,layer,cross_prompt_r,cross_seed_r,cross_step_r,cross_model_r";

    public static string Csv(StructureOptions options, IReadOnlyDictionary<string, StructureMaps> maps, IReadOnlyDictionary<string, StructureMaps>? other)
    {
        var sb = new StringBuilder(Header).Append('\n');
        foreach (var (arm, mine, theirs) in new[] { (StructureStudy.MapsLabel, maps, other), (StructureStudy.CompareLabel, other, maps) })
        {
            if (mine is null) continue;
            for (int p = 0; p < options.Prompts.Count; p++)
            for (int s = 0; s < options.Seeds.Count; s++)
            foreach (var (kind, m) in mine)
            foreach (var site in m.Sites.Where(x => m.Complete(x.Name)))
            {
                var t = theirs?[kind];
                bool comparable = t is not null && t.Complete(site.Name) && t.Shapes[site.Name].Groups == m.Shapes[site.Name].Groups;
                sb.Append(string.Join(",", arm, p.ToString(CultureInfo.InvariantCulture), Quote(options.Prompts[p]), options.Seeds[s].ToString(CultureInfo.InvariantCulture),
                    kind, site.Name, site.Layer.ToString(CultureInfo.InvariantCulture),
                    CsvNumber.Of(CrossPrompt(m, site.Name, p, s)),
                    CsvNumber.Of(Mean(m, site.Name, (t2, add) => { for (int s2 = 0; s2 < m.Seeds; s2++) if (s2 != s) add(m.Map(site.Name, s2, t2, p)); }, p, s)),
                    CsvNumber.Of(Mean(m, site.Name, (t2, add) => { if (t2 < m.Steps - 1) add(m.Map(site.Name, s, m.Steps - 1, p)); }, p, s)),
                    comparable ? CsvNumber.Of(Mean(m, site.Name, (t2, add) => add(t!.Map(site.Name, s, t2, p)), p, s)) : ""))
                    .Append('\n');
            }
        }
        return sb.ToString();
    }

    /// <summary>Mean Pearson r, over steps, of the sample's map (prompt <paramref name="prompt"/>, seed index <paramref name="seed"/>) with the other prompts' of the same seed.</summary>
    public static double CrossPrompt(StructureMaps m, string site, int prompt, int seed) =>
        Mean(m, site, (t, add) => { for (int q = 0; q < m.Prompts; q++) if (q != prompt) add(m.Map(site, seed, t, q)); }, prompt, seed);

    /// <summary>Mean Pearson r, over steps, of this sample's map with the maps <paramref name="others"/> names at each step (NaN ones left out).</summary>
    private static double Mean(StructureMaps m, string site, Action<int, Action<double[]>> others, int prompt, int seed)
    {
        var values = new List<double>();
        for (int t = 0; t < m.Steps; t++)
        {
            var map = m.Map(site, seed, t, prompt);
            others(t, o => values.Add(MapSimilarity.Pearson(map, o)));
        }
        var finite = values.Where(double.IsFinite).ToList();
        return finite.Count == 0 ? double.NaN : finite.Average();
    }

    private static string Quote(string s) => "\"" + s.Replace("\"", "\"\"") + "\"";
}
