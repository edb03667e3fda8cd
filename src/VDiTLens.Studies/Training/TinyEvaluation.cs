using System.Diagnostics;
using TorchSharp;
using VDiTLens.Procedural;
using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>One generated clip, its prompt's attributes and what the evaluator read from it.</summary>
public sealed record EvaluatedClip(ProceduralExample Example, long Seed, ClipJudgement Judgement)
{
    public bool ColourCorrect => Judgement.Colour == Example.Spec.Colour;
    public bool ShapeCorrect => Judgement.Shape == Example.Spec.Shape;
    public bool DirectionCorrect => Judgement.Direction == Example.Spec.Direction;
    public bool AllCorrect => ColourCorrect && ShapeCorrect && DirectionCorrect;
}

/// <summary>Per-attribute accuracies over a prompt set, plus the CPU/GPU seconds the generation took.</summary>
public sealed record EvaluationReport(string Set, IReadOnlyList<EvaluatedClip> Clips, int Steps, double Guidance, double Seconds)
{
    public int Count => Clips.Count;
    public double ColourAccuracy => Share(c => c.ColourCorrect);
    public double ShapeAccuracy => Share(c => c.ShapeCorrect);
    public double DirectionAccuracy => Share(c => c.DirectionCorrect);
    public double AllAccuracy => Share(c => c.AllCorrect);
    private double Share(Func<EvaluatedClip, bool> f) => Clips.Count == 0 ? 0 : (double)Clips.Count(f) / Clips.Count;
}

/// <summary>
/// Generates clips for prompt sets with fixed seeds and judges them with <see cref="ClipEvaluator"/>: the held-out
/// evaluation set (combinations never trained on) and a set of trained combinations (fresh positions and sizes).
/// </summary>
public static class TinyEvaluation
{
    public const long SeedBase = 1234;

    /// <summary>The held-out prompts: every held-out combination <paramref name="perCombination"/> times.</summary>
    public static IReadOnlyList<ProceduralExample> HeldOut(int perCombination) => new ProceduralDataset().EvaluationSet(perCombination);

    /// <summary><paramref name="count"/> training-distribution prompts from indices far beyond any training run.</summary>
    public static IReadOnlyList<ProceduralExample> Seen(int count) =>
        new ProceduralDataset().TrainingExamples(count, start: 1_000_000_000_000L).ToList();

    public static EvaluationReport Run(string set, TinySampler sampler, IReadOnlyList<ProceduralExample> examples, int steps, double guidance,
        int batchSize, IList<Tensor>? keepClips = null)
    {
        var clips = new List<EvaluatedClip>();
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < examples.Count; start += batchSize)
        {
            var chunk = examples.Skip(start).Take(batchSize).ToList();
            var seeds = Enumerable.Range(start, chunk.Count).Select(i => SeedBase + i).ToList();
            using var generated = sampler.Generate(chunk.Select(e => e.Caption).ToList(), seeds, steps, guidance);
            for (int i = 0; i < chunk.Count; i++)
            {
                using var clip = ClipRenderer.ToFramesFirst(generated[i]);
                clips.Add(new EvaluatedClip(chunk[i], seeds[i], ClipEvaluator.Evaluate(clip)));
                keepClips?.Add(clip.clone().DetachFromDisposeScope());
            }
        }
        return new EvaluationReport(set, clips, steps, guidance, clock.Elapsed.TotalSeconds);
    }
}
