using TorchSharp;
using VDiTLens.Procedural;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Procedural;

public sealed class ClipEvaluatorRobustnessTests
{
    public ClipEvaluatorRobustnessTests() => TorchRuntime.Initialise();

    private static void AssertAllUnknown(ClipJudgement judgement, int frames)
    {
        Assert.Null(judgement.Colour);
        Assert.Null(judgement.Shape);
        Assert.Null(judgement.Direction);
        Assert.Null(judgement.Speed);
        Assert.True(judgement.Confidence < 0.3, $"confidence {judgement.Confidence}");
        Assert.Equal(frames, judgement.Trajectory.Count);
        Assert.Equal("unknown unknown moving unknown unknown", judgement.Describe());
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void Blank_clips_are_unknown(double value)
    {
        using var clip = torch.full(9, 3, 32, 32, value);
        AssertAllUnknown(ClipEvaluator.Evaluate(clip), 9);
    }

    [Fact]
    public void Uniform_noise_clips_are_unknown()
    {
        for (int seed = 0; seed < 5; seed++)
        {
            using var generator = new Generator((ulong)seed);
            using var clip = torch.rand(new long[] { 9, 3, 32, 32 }, generator: generator) * 2 - 1;
            AssertAllUnknown(ClipEvaluator.Evaluate(clip), 9);
        }
    }

    [Fact]
    public void Gaussian_noise_clips_are_unknown()
    {
        for (int seed = 0; seed < 5; seed++)
        {
            using var generator = new Generator((ulong)seed);
            using var clip = torch.randn(new long[] { 9, 3, 32, 32 }, generator: generator);
            AssertAllUnknown(ClipEvaluator.Evaluate(clip), 9);
        }
    }

    [Fact]
    public void Non_finite_and_empty_clips_are_unknown()
    {
        using var nan = torch.full(9, 3, 32, 32, double.NaN);
        AssertAllUnknown(ClipEvaluator.Evaluate(nan), 9);
        using var empty = torch.zeros(0, 3, 32, 32);
        AssertAllUnknown(ClipEvaluator.Evaluate(empty), 0);
        using var tiny = torch.zeros(9, 3, 2, 2);
        AssertAllUnknown(ClipEvaluator.Evaluate(tiny), 9);
    }

    [Fact]
    public void A_clip_with_some_nan_pixels_is_still_read()
    {
        var spec = new ClipSpec(ObjectShape.Circle, ObjectColour.Red, MotionDirection.Right, MotionSpeed.Fast, BackgroundKind.Plain, 0.25, 0.5, 0.3);
        using var clip = ClipRenderer.Render(spec);
        clip[0, 0, 0, 0] = torch.tensor(float.NaN);
        clip[4, 1, 31, 5] = torch.tensor(float.PositiveInfinity);
        var judgement = ClipEvaluator.Evaluate(clip);
        Assert.True(judgement.Matches(spec), judgement.Describe());
    }

    [Fact]
    public void A_static_object_has_known_colour_and_shape_but_no_direction()
    {
        var spec = new ClipSpec(ObjectShape.Square, ObjectColour.Green, MotionDirection.Left, MotionSpeed.Slow, BackgroundKind.Plain, 0.5, 0.5, 0.3, Frames: 1);
        using var still = ClipRenderer.Render(spec).expand(9, 3, 32, 32);
        var judgement = ClipEvaluator.Evaluate(still);
        Assert.Equal(ObjectColour.Green, judgement.Colour);
        Assert.Equal(ObjectShape.Square, judgement.Shape);
        Assert.Null(judgement.Direction);
        Assert.Null(judgement.Speed);
        Assert.Equal(0, judgement.DirectionConfidence);
    }

    [Fact]
    public void Trajectory_follows_the_rendered_object()
    {
        var spec = new ClipSpec(ObjectShape.Square, ObjectColour.Blue, MotionDirection.Down, MotionSpeed.Fast, BackgroundKind.Striped, 0.6, 0.2, 0.3, BackgroundSeed: 4);
        using var clip = ClipRenderer.Render(spec);
        var judgement = ClipEvaluator.Evaluate(clip);
        for (int f = 0; f < spec.Frames; f++)
        {
            var (x, y) = spec.CentreAt(f);
            var p = judgement.Trajectory[f];
            Assert.NotNull(p);
            Assert.True(Math.Abs(p.Value.X - x) < 0.25 && Math.Abs(p.Value.Y - y) < 0.25, $"frame {f}: ({p.Value.X:F2}, {p.Value.Y:F2}) vs ({x:F2}, {y:F2})");
        }
        double expected = spec.TravelPixels / (spec.Frames - 1);
        Assert.True(Math.Abs(judgement.Velocity.Y - expected) < 0.05 * expected, $"vy {judgement.Velocity.Y} vs {expected}");
        Assert.True(Math.Abs(judgement.Velocity.X) < 0.05);
    }

    [Fact]
    public void Mild_noise_does_not_change_the_reading()
    {
        // Generated clips are noisy: mild Gaussian noise (σ = 0.05 in [-1, 1] units) must not change the reading.
        var dataset = new ProceduralDataset(new ProceduralDatasetOptions(Seed: 21));
        using var generator = new Generator(5);
        int correct = 0, n = 40;
        foreach (var example in dataset.TrainingExamples(n))
        {
            using var clip = ClipRenderer.Render(example.Spec);
            using var noisy = clip + 0.05 * torch.randn(clip.shape, generator: generator);
            if (ClipEvaluator.Evaluate(noisy).Matches(example.Spec)) correct++;
        }
        Assert.True(correct >= 38, $"{correct}/{n} noisy clips read correctly");
    }

    [Fact]
    public void Wrong_layout_is_rejected_with_a_message()
    {
        using var channelsFirst = torch.zeros(3, 9, 32, 32);
        var error = Assert.Throws<VDiTLensException>(() => ClipEvaluator.Evaluate(channelsFirst));
        Assert.Contains("ToFramesFirst", error.Message);
        using var rank3 = torch.zeros(3, 32, 32);
        Assert.Throws<VDiTLensException>(() => ClipEvaluator.Evaluate(rank3));
    }
}
