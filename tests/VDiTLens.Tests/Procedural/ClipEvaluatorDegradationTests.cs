using TorchSharp;
using VDiTLens.Procedural;
using VDiTLens.Runtime;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Procedural;

/// <summary>Generated clips are blurred and noisy; the judge must still read clear objects from them.</summary>
public sealed class ClipEvaluatorDegradationTests
{
    private readonly ITestOutputHelper _output;

    public ClipEvaluatorDegradationTests(ITestOutputHelper output)
    {
        _output = output;
        TorchRuntime.Initialise();
    }

    [Fact]
    public void Blurred_and_noisy_clips_are_still_read()
    {
        var dataset = new ProceduralDataset(new ProceduralDatasetOptions(Seed: 33));
        using var generator = new Generator(8);
        int n = 100, colour = 0, shape = 0, direction = 0;
        foreach (var example in dataset.TrainingExamples(n))
        {
            using var scope = torch.NewDisposeScope();
            var clip = ClipRenderer.Render(example.Spec);
            // 3×3 box blur per frame (replicated edges) plus Gaussian noise of σ = 0.05.
            var blurred = nn.functional.avg_pool2d(nn.functional.pad(clip, new long[] { 1, 1, 1, 1 }, PaddingModes.Replicate), 3, 1);
            var degraded = blurred + 0.05 * torch.randn(clip.shape, generator: generator);
            var judgement = ClipEvaluator.Evaluate(degraded);
            if (judgement.Colour == example.Spec.Colour) colour++;
            if (judgement.Shape == example.Spec.Shape) shape++;
            if (judgement.Direction == example.Spec.Direction) direction++;
            else _output.WriteLine($"miss: {example.Caption} → {judgement.Describe()}");
        }
        _output.WriteLine($"blurred+noisy: colour {colour}/{n} shape {shape}/{n} direction {direction}/{n}");
        Assert.True(colour >= 95, $"colour {colour}/{n}");
        Assert.True(direction >= 95, $"direction {direction}/{n}");
        Assert.True(shape >= 85, $"shape {shape}/{n}");
    }
}
