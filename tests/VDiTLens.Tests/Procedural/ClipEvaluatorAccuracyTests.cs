using TorchSharp;
using VDiTLens.Procedural;
using VDiTLens.Runtime;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Procedural;

public sealed class ClipEvaluatorAccuracyTests
{
    private readonly ITestOutputHelper _output;

    public ClipEvaluatorAccuracyTests(ITestOutputHelper output)
    {
        _output = output;
        TorchRuntime.Initialise();
    }

    private sealed record Accuracy(double Colour, double Shape, double Direction, double Speed, double All);

    private static Accuracy Measure(IEnumerable<ProceduralExample> examples, bool antiAlias, List<string>? failures = null)
    {
        int n = 0, colour = 0, shape = 0, direction = 0, speed = 0, all = 0;
        foreach (var example in examples)
        {
            var spec = example.Spec;
            using var clip = ClipRenderer.Render(spec, antiAlias);
            var judgement = ClipEvaluator.Evaluate(clip);
            n++;
            if (judgement.Colour == spec.Colour) colour++;
            if (judgement.Shape == spec.Shape) shape++;
            if (judgement.Direction == spec.Direction) direction++;
            if (judgement.Speed == spec.Speed) speed++;
            if (judgement.Matches(spec)) all++;
            else failures?.Add($"{example.Caption} (size {spec.SizePixels:F1}px) → {judgement.Describe()} scores {string.Join(",", judgement.ShapeScores.Select(kv => $"{kv.Key}:{kv.Value:F2}"))}");
        }
        return new Accuracy((double)colour / n, (double)shape / n, (double)direction / n, (double)speed / n, (double)all / n);
    }

    private void AssertAtLeast(Accuracy accuracy, double minimum, string what, List<string> failures)
    {
        _output.WriteLine($"{what}: colour {accuracy.Colour:P1} shape {accuracy.Shape:P1} direction {accuracy.Direction:P1} speed {accuracy.Speed:P1} all-three {accuracy.All:P1}");
        foreach (var failure in failures.Take(20)) _output.WriteLine("  miss: " + failure);
        Assert.True(accuracy.Colour >= minimum, $"{what} colour accuracy {accuracy.Colour:P1}");
        Assert.True(accuracy.Shape >= minimum, $"{what} shape accuracy {accuracy.Shape:P1}");
        Assert.True(accuracy.Direction >= minimum, $"{what} direction accuracy {accuracy.Direction:P1}");
        Assert.True(accuracy.Speed >= minimum, $"{what} speed accuracy {accuracy.Speed:P1}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Ground_truth_training_clips_are_read_correctly(bool antiAlias)
    {
        var failures = new List<string>();
        var accuracy = Measure(new ProceduralDataset(new ProceduralDatasetOptions(Seed: 7)).TrainingExamples(200), antiAlias, failures);
        AssertAtLeast(accuracy, 0.95, $"200 training clips (antiAlias={antiAlias})", failures);
    }

    [Fact]
    public void Ground_truth_held_out_clips_are_read_correctly()
    {
        var failures = new List<string>();
        var accuracy = Measure(new ProceduralDataset().EvaluationSet(perCombination: 8), antiAlias: true, failures);
        AssertAtLeast(accuracy, 0.95, "120 held-out clips", failures);
    }

    [Fact]
    public void Clips_with_a_static_distractor_are_read_correctly()
    {
        var dataset = new ProceduralDataset(new ProceduralDatasetOptions(Seed: 3, DistractorProbability: 1));
        var examples = dataset.TrainingExamples(200).Where(e => e.Spec.Distractor is not null).ToList();
        Assert.True(examples.Count >= 150, $"only {examples.Count} of 200 examples got a distractor");
        var failures = new List<string>();
        var accuracy = Measure(examples, antiAlias: true, failures);
        AssertAtLeast(accuracy, 0.95, $"{examples.Count} clips with a distractor", failures);
    }

    [Fact]
    public void Other_clip_sizes_are_read_correctly()
    {
        var dataset = new ProceduralDataset(new ProceduralDatasetOptions(Seed: 11, Frames: 13, Height: 48, Width: 64));
        var failures = new List<string>();
        var accuracy = Measure(dataset.TrainingExamples(100), antiAlias: true, failures);
        AssertAtLeast(accuracy, 0.95, "100 clips of 13×48×64", failures);
    }
}
