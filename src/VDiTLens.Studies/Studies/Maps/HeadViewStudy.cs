using VDiTLens.Attention;
using System.Globalization;
using System.Text;
using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Maps;

/// <summary>
/// What a head view wrote: <see cref="Rows"/> are the mean over the runs (prompt × seed), <see cref="PerRun"/> each
/// run's own rows; with two runs or more, <see cref="IntervalsPath"/> holds each metric's 95 % bootstrap interval over runs.
/// </summary>
public sealed record HeadViewResult(IReadOnlyList<HeadViewRow> Rows, IReadOnlyList<IReadOnlyList<HeadViewRow>> PerRun, string CsvPath, string SvgPath,
    string? IntervalsPath, int Forwards);

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

    public static HeadViewResult Run(ITextToVideoPipeline pipeline, GenerationRequest request, HeadViewOptions options, string outFolder) =>
        Run(pipeline, new[] { request }, options, outFolder);

    /// <summary>One generation per request (e.g. prompts × seeds), each measured as one run; rows averaged over runs.</summary>
    public static HeadViewResult Run(ITextToVideoPipeline pipeline, IReadOnlyList<GenerationRequest> runs, HeadViewOptions options, string outFolder,
        Action<int>? onRun = null)
    {
        options.Validate();
        if (runs.Count == 0) throw new VDiTLensException("head view: no run (give at least one prompt and seed)");
        if (runs.Any(r => r.Prompts.Count != 1)) throw new VDiTLensException("head view: every run generates one prompt (a batch of one)");
        var filter = new AttentionSelector { Sites = options.Sites, Branches = new[] { "cond" } };
        var sites = pipeline.Sites.Where(s => filter.Sites.Count == 0 || new AttentionSelector { Sites = options.Sites }.Accepts(
            new Attention.AttentionCall(s, new Attention.AttentionRunState(), 1, Attention.TokenLayout.Text(0), Attention.TokenLayout.Text(0)))).ToList();
        if (sites.Count == 0)
            throw new VDiTLensException($"head view sites {string.Join(",", options.Sites)} match no attention site of {pipeline.ClassName}");
        var perRun = new List<IReadOnlyList<HeadViewRow>>();
        for (int i = 0; i < runs.Count; i++)
        {
            onRun?.Invoke(i);
            perRun.Add(Measure(pipeline, runs[i], options, filter, sites));
        }
        if (perRun.Any(x => x.Count != perRun[0].Count))
            throw new VDiTLensException("head view: the runs measured different (site, step, head) sets; give every run the same sizes and steps");
        var rows = perRun.Count == 1 ? perRun[0] : Mean(perRun);
        Directory.CreateDirectory(outFolder);
        string? intervals = perRun.Count < 2 ? null : Path.Combine(outFolder, "heads_intervals.csv");
        var result = new HeadViewResult(rows, perRun, Path.Combine(outFolder, "heads.csv"), Path.Combine(outFolder, "heads.svg"), intervals,
            runs.Sum(Forwards));
        File.WriteAllText(result.CsvPath, Csv(rows));
        if (intervals is not null)
        {
            File.WriteAllText(Path.Combine(outFolder, "heads_per_run.csv"), PerRunCsv(runs, perRun));
            File.WriteAllText(intervals, HeadViewIntervals.Csv(perRun));
        }
        int steps = runs[0].Steps;
        var drawn = options.PictureSteps.Count > 0 ? options.PictureSteps.ToArray() : SpreadSteps(steps, 6);
        File.WriteAllText(result.SvgPath, HeadViewPicture.Svg(rows, sites.Select(s => s.Name).ToArray(), drawn, options.Epsilon));
        return result;
    }

    private static List<HeadViewRow> Measure(ITextToVideoPipeline pipeline, GenerationRequest request, HeadViewOptions options,
        AttentionSelector filter, IReadOnlyList<AttentionSite> sites)
    {
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
        return rows;
    }

    /// <summary>Each (site, step, head) averaged over runs; runs of one model and sizes have the same rows in the same order.</summary>
    private static List<HeadViewRow> Mean(IReadOnlyList<IReadOnlyList<HeadViewRow>> runs) =>
        runs[0].Select((r, i) => r with
        {
            Top1Mass = runs.Average(x => x[i].Top1Mass), SinkMass = runs.Average(x => x[i].SinkMass), Entropy = runs.Average(x => x[i].Entropy),
            NormalisedEntropy = runs.Average(x => x[i].NormalisedEntropy), Coverage90 = runs.Average(x => x[i].Coverage90),
        }).ToList();

    private static string PerRunCsv(IReadOnlyList<GenerationRequest> runs, IReadOnlyList<IReadOnlyList<HeadViewRow>> perRun)
    {
        var s = new StringBuilder("run,seed,prompt," + CsvHeader + "\n");
        for (int i = 0; i < runs.Count; i++)
        {
            string prefix = $"{i},{runs[i].Seed.ToString(CultureInfo.InvariantCulture)},\"{runs[i].Prompts[0].Replace("\"", "\"\"")}\",";
            foreach (var r in perRun[i]) s.Append(prefix).Append(CsvLine(r)).Append('\n');
        }
        return s.ToString();
    }

    /// <summary>Up to <paramref name="count"/> steps evenly spread from the first to the last.</summary>
    public static int[] SpreadSteps(int steps, int count) =>
        Enumerable.Range(0, Math.Min(count, steps)).Select(i => count >= steps ? i : (int)Math.Round(i * (steps - 1.0) / (count - 1))).Distinct().ToArray();

    public const string CsvHeader = "site,layer,kind,step,head,top1_mass,sink_mass_above_epsilon,entropy,entropy_over_ln_keys,coverage_0.9";

    public static string Csv(IEnumerable<HeadViewRow> rows)
    {
        var s = new StringBuilder(CsvHeader + "\n");
        foreach (var r in rows) s.Append(CsvLine(r)).Append('\n');
        return s.ToString();
    }

    private static string CsvLine(HeadViewRow r)
    {
        string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
        return $"{r.Site},{r.Layer},{r.Kind},{r.Step},{r.Head},{F(r.Top1Mass)},{F(r.SinkMass)},{F(r.Entropy)},{F(r.NormalisedEntropy)},{F(r.Coverage90)}";
    }
}
