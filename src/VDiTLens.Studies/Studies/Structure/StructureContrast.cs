using System.Globalization;
using System.Text;
using VDiTLens.Statistics;
using VDiTLens.Reports;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// The model's cross-prompt similarity against the compared model's (the random-init null, or another model), per
/// site: for each seed, the mean over prompts of each sample's cross-prompt Pearson r (<see cref="StructureSamples"/>);
/// seeds are the independent units (the prompts of a seed share their starting noise), so the bootstrap resamples
/// seeds and the contrast is paired by seed.
/// </summary>
public static class StructureContrast
{
    public const string Header = "kind,site,layer,seeds,model_r,model_low,model_high,compare_r,compare_low,compare_high,difference,difference_low,difference_high";

    public sealed record Row(string Kind, string Site, int Layer, Estimate Model, Estimate Compare, Estimate Difference);

    public static IReadOnlyList<Row> Rows(IReadOnlyDictionary<string, StructureMaps> maps, IReadOnlyDictionary<string, StructureMaps> other, Bootstrap? bootstrap = null)
    {
        bootstrap ??= new Bootstrap();
        var rows = new List<Row>();
        foreach (var (kind, m) in maps)
        {
            if (!other.TryGetValue(kind, out var o)) continue;
            foreach (var site in m.Sites.Where(x => m.Complete(x.Name) && o.Complete(x.Name)))
            {
                var mine = PerSeed(m, site.Name);
                var theirs = PerSeed(o, site.Name);
                rows.Add(new Row(kind, site.Name, site.Layer, bootstrap.Mean(mine), bootstrap.Mean(theirs), bootstrap.PairedDifference(mine, theirs)));
            }
        }
        return rows;
    }

    public static string Csv(IReadOnlyList<Row> rows)
    {
        var sb = new StringBuilder(Header).Append('\n');
        foreach (var r in rows)
            sb.Append(string.Join(",", new[] { r.Kind, r.Site, r.Layer.ToString(CultureInfo.InvariantCulture), r.Model.N.ToString(CultureInfo.InvariantCulture) }
                .Concat(new[] { r.Model, r.Compare, r.Difference }.SelectMany(e => new[] { e.Value, e.Low, e.High }.Select(CsvNumber.Of))))).Append('\n');
        return sb.ToString();
    }

    private static double[] PerSeed(StructureMaps m, string site) =>
        Enumerable.Range(0, m.Seeds).Select(s => Enumerable.Range(0, m.Prompts).Select(p => StructureSamples.CrossPrompt(m, site, p, s))
            .Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average()).ToArray();

}
