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

/// <summary>What a plan costs: generations, transformer forwards and estimated seconds, in total and per shard.</summary>
public sealed record PlanEstimate(int Cells, int Generations, long Forwards, double Seconds, IReadOnlyList<double> SecondsPerShard)
{
    public static PlanEstimate Of(StudyPlan plan, GenerationTiming timing, int shards)
    {
        var owners = plan.Owners(shards);
        var perShard = new double[shards];
        foreach (var c in plan.Cells) perShard[owners[c.Id]] += c.Cost * timing.GenerationSeconds;
        // Every shard makes (or loads) the dense reference; one of them pays for it.
        perShard[0] += plan.DenseGenerations * plan.DenseCost * timing.GenerationSeconds;
        int generations = plan.Cells.Count + plan.DenseGenerations;
        return new PlanEstimate(plan.Cells.Count, generations, (long)generations * plan.ForwardsPerGeneration,
            plan.TotalCost * timing.GenerationSeconds, perShard);
    }
}
