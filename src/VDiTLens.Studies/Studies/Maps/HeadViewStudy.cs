using VDiTLens.Attention;
using System.Globalization;
using System.Text;
using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Maps;

/// <summary>What a head view wrote.</summary>
public sealed record HeadViewResult(IReadOnlyList<HeadViewRow> Rows, string CsvPath, string SvgPath, int Forwards);

/// <summary>
/// Layer × head × step views of one generation: the standard probes (received mass, entropy and coverage, fused
/// where the mask allows) grouped by step on the conditional branch, reduced per head to
/// <see cref="HeadViewRow"/> and written as <c>heads.csv</c> and <c>heads.svg</c> (one panel per metric and drawn step, site
/// × head, one colour scale per metric; a last column with the change from the first to the last drawn step).
/// </summary>
public static class HeadViewStudy
{
    public static readonly string[] Metrics = { "top1_mass", "sink_mass", "entropy", "coverage_0.9" };

    public static int Forwards(GenerationRequest request) => request.Steps * (request.GuidanceScale > 1 ? 2 : 1);

    public static HeadViewResult Run(ITextToVideoPipeline pipeline, GenerationRequest request, HeadViewOptions options, string outFolder)
    {
        options.Validate();
        var filter = new AttentionSelector { Sites = options.Sites, Branches = new[] { "cond" } };
        var sites = pipeline.Sites.Where(s => filter.Sites.Count == 0 || new AttentionSelector { Sites = options.Sites }.Accepts(
            new Attention.AttentionCall(s, new Attention.AttentionRunState(), 1, Attention.TokenLayout.Text(0), Attention.TokenLayout.Text(0)))).ToList();
        if (sites.Count == 0)
            throw new VDiTLensException($"head view sites {string.Join(",", options.Sites)} match no attention site of {pipeline.ClassName}");
        ProbeResults results;
        using (var probes = new ProbeSet(pipeline.Seam, new ProbeOptions
               {
                   Probes = new[] { "mass", "entropy" }, Filter = filter, Grouping = ProbeGrouping.Step, CoverageStride = options.CoverageStride,
               }))
        {
            pipeline.Denoise(request with { BatchGuidance = false }).Dispose();
            results = probes.Results();
        }
        var rows = new List<HeadViewRow>();
        foreach (var site in sites)
            for (int step = 0; step < request.Steps; step++)
            {
                string key = $"{site.Name}.step{step}";
                if (!results.TryGetValue(key + ".received_mass", out var mass)) continue;
                using var scope = torch.NewDisposeScope();
                var m = mass.to(ScalarType.Float64).mean(new long[] { 0 });                 // [H, Lk]
                var valid = (m > 0).sum(-1, type: ScalarType.Float64);                       // keys that receive anything
                var sink = torch.where(m > options.Epsilon, m, torch.zeros_like(m)).sum(-1);
                var top1 = m.max(-1).values;
                var entropy = results[key + ".entropy"].to(ScalarType.Float64).mean(new long[] { 0 });
                var coverage = results[key + ".coverage_fraction"].to(ScalarType.Float64).mean(new long[] { 0 })[.., 1];
                for (int h = 0; h < m.shape[0]; h++)
                    rows.Add(new HeadViewRow(site.Name, site.Layer, site.Kind.ToString().ToLowerInvariant(), step, h,
                        top1[h].item<double>(), sink[h].item<double>(), entropy[h].item<double>(),
                        entropy[h].item<double>() / Math.Log(Math.Max(2, valid[h].item<double>())), coverage[h].item<double>()));
            }
        results.Dispose();
        Directory.CreateDirectory(outFolder);
        var result = new HeadViewResult(rows, Path.Combine(outFolder, "heads.csv"), Path.Combine(outFolder, "heads.svg"), Forwards(request));
        File.WriteAllText(result.CsvPath, Csv(rows));
        var steps = options.PictureSteps.Count > 0 ? options.PictureSteps.ToArray() : SpreadSteps(request.Steps, 6);
        File.WriteAllText(result.SvgPath, HeadViewPicture.Svg(rows, sites.Select(s => s.Name).ToArray(), steps, options.Epsilon));
        return result;
    }

    /// <summary>Up to <paramref name="count"/> steps evenly spread from the first to the last.</summary>
    public static int[] SpreadSteps(int steps, int count) =>
        Enumerable.Range(0, Math.Min(count, steps)).Select(i => count >= steps ? i : (int)Math.Round(i * (steps - 1.0) / (count - 1))).Distinct().ToArray();

    public static string Csv(IEnumerable<HeadViewRow> rows)
    {
        var s = new StringBuilder("site,layer,kind,step,head,top1_mass,sink_mass_above_epsilon,entropy,entropy_over_ln_keys,coverage_0.9\n");
        string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
        foreach (var r in rows)
            s.Append($"{r.Site},{r.Layer},{r.Kind},{r.Step},{r.Head},{F(r.Top1Mass)},{F(r.SinkMass)},{F(r.Entropy)},{F(r.NormalisedEntropy)},{F(r.Coverage90)}\n");
        return s.ToString();
    }
}
