using System.Diagnostics;
using VDiTLens.Pipelines;

namespace VDiTLens.Studies.Scale;

/// <summary>
/// Seconds of one generation on the device in use, from a short timing: a 1-step and a 2-step generation of the same
/// request (the mean of two each, after a 1-step warm-up) give the per-step time and the fixed part (text encoding, decoding);
/// a full generation is fixed + steps × per step.
/// </summary>
public sealed record GenerationTiming(double FixedSeconds, double SecondsPerStep, int Steps)
{
    public double GenerationSeconds => FixedSeconds + SecondsPerStep * Steps;

    /// <summary>Seconds of one denoising step with <paramref name="attach"/>'s probes or interventions on the seam (2-step minus 1-step run).</summary>
    public static double StepSeconds(ITextToVideoPipeline pipeline, GenerationRequest request, Func<IDisposable> attach)
    {
        using var attached = attach();
        double Time(int steps)
        {
            var clock = Stopwatch.StartNew();
            using (pipeline.Denoise(request with { Steps = steps, Progress = null })) { }
            return clock.Elapsed.TotalSeconds;
        }
        Time(1);
        double one = (Time(1) + Time(1)) / 2, two = (Time(2) + Time(2)) / 2; // the mean of two each, as in Measure
        return Math.Max(two - one, two / 4);
    }

    public static GenerationTiming Measure(ITextToVideoPipeline pipeline, GenerationRequest request)
    {
        double Time(int steps)
        {
            var clock = Stopwatch.StartNew();
            using (pipeline.Denoise(request with { Steps = steps, Progress = null }))
            { }
            return clock.Elapsed.TotalSeconds;
        }
        // The mean of two runs each: the study will run on the same, possibly busy, device.
        Time(1);
        double one = (Time(1) + Time(1)) / 2, two = (Time(2) + Time(2)) / 2;
        double perStep = Math.Clamp(two - one, two / 4, two / 2);
        using (var latents = pipeline.Denoise(request with { Steps = 1, Progress = null }))
        {
            var clock = Stopwatch.StartNew();
            pipeline.DecodeLatents(latents).Dispose();
            one += clock.Elapsed.TotalSeconds;
        }
        return new GenerationTiming(Math.Max(0, one - perStep), perStep, request.Steps);
    }
}

/// <summary>
/// Measured step costs that replace a plan's nominal ones in an estimate: a step with one site sparsified costs
/// <paramref name="SparseSiteStepSeconds"/> more than a plain step per sparsified site, and the dense reference's
/// probed step <paramref name="ProbedStepSeconds"/>. (Shard assignment keeps the nominal costs: it must not depend on
/// a timing.)
/// </summary>
public sealed record MeasuredStepCosts(double SparseSiteStepSeconds, double ProbedStepSeconds);

/// <summary>What a plan costs: generations, transformer forwards and estimated seconds, in total and per shard.</summary>
public sealed record PlanEstimate(int Cells, int Generations, long Forwards, double Seconds, IReadOnlyList<double> SecondsPerShard)
{
    /// <param name="sparsifiedSites">the sites a cell sparsifies (used with <paramref name="measured"/>).</param>
    public static PlanEstimate Of(StudyPlan plan, GenerationTiming timing, int shards, MeasuredStepCosts? measured = null,
        Func<PlannedCell, int>? sparsifiedSites = null)
    {
        double CellSeconds(PlannedCell c) => measured is null || sparsifiedSites is null ? c.Cost * timing.GenerationSeconds
            : timing.GenerationSeconds + timing.Steps * measured.SparseSiteStepSeconds * sparsifiedSites(c);
        double denseSeconds = measured is null ? plan.DenseCost * timing.GenerationSeconds
            : timing.FixedSeconds + timing.Steps * measured.ProbedStepSeconds;
        var owners = plan.Owners(shards);
        var perShard = new double[shards];
        foreach (var c in plan.Cells) perShard[owners[c.Id]] += CellSeconds(c);
        // Every shard makes (or loads) the dense reference; one of them pays for it.
        perShard[0] += plan.DenseGenerations * denseSeconds;
        int generations = plan.Cells.Count + plan.DenseGenerations;
        return new PlanEstimate(plan.Cells.Count, generations, (long)generations * plan.ForwardsPerGeneration,
            plan.Cells.Sum(CellSeconds) + plan.DenseGenerations * denseSeconds, perShard);
    }
}
