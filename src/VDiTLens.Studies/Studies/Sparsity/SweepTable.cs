using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// The sweep as a table: one row per cell in table order with its layer's dense coverage beside it (timings are left out,
/// so an interrupted-and-resumed sweep gives the same table as an uninterrupted one). CSV and JSON.
/// </summary>
public static class SweepTable
{
    public static readonly string[] Header =
    {
        "method", "mode", "layer", "site", "level", "density", "latent_rel_l2", "psnr_db", "ssim", "accuracy",
        "coverage_fraction_p50", "coverage_fraction_p90", "coverage_fraction_p95", "coverage_fraction_p99", "sparsified_sites",
    };

    public static string Csv(SweepOutcome outcome)
    {
        var sb = new StringBuilder(string.Join(",", Header)).Append('\n');
        foreach (var row in Rows(outcome)) sb.Append(string.Join(",", row.Select(Quote))).Append('\n');
        return sb.ToString();
    }

    public static IEnumerable<string[]> Rows(SweepOutcome outcome)
    {
        foreach (var r in outcome.Results)
        {
            var c = r.Cell;
            bool perLayer = c.Mode != SweepMode.Uniform;
            var coverage = perLayer ? outcome.Profile.Sites[c.Layer].FractionByLevel : null;
            yield return new[]
            {
                c.Method, c.Mode, c.Layer.ToString(CultureInfo.InvariantCulture), perLayer ? outcome.Sites[c.Layer] : $"all but {c.Layer} most sensitive",
                F(c.Level), F(r.Density), F(r.LatentRelativeL2), F(r.Psnr), F(r.Ssim), F(r.Accuracy),
                F(coverage?[0]), F(coverage?[1]), F(coverage?[2]), F(coverage?[3]), r.SparsifiedSites.Count.ToString(CultureInfo.InvariantCulture),
            };
        }
    }

    public static string Json(SweepOutcome outcome) => JsonSerializer.Serialize(new
    {
        sites = outcome.Sites,
        dense_accuracy = outcome.DenseAccuracy,
        complete = outcome.Complete,
        cells_done = outcome.Results.Count,
        cells_total = outcome.Total,
        coverage_levels = Probes.EntropyCoverage.Levels,
        coverage = outcome.Profile.Sites.Select(s => new { site = s.Site, layer = s.Layer, fraction = s.FractionByLevel, entropy = s.Entropy }),
        cells = outcome.Results,
    }, CellStore.Json);

    public static string F(double? v) => v is { } x ? x.ToString("R", CultureInfo.InvariantCulture) : "";

    private static string Quote(string s) => s.IndexOfAny(new[] { ',', '"', '\n' }) >= 0 ? $"\"{s.Replace("\"", "\"\"")}\"" : s;
}
