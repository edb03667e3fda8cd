using VDiTLens.Procedural;
using VDiTLens.Procedural.Scenes;
using VDiTLens.Runtime;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Procedural.Scenes;

public sealed class SceneEvaluatorAccuracyTests
{
    private readonly ITestOutputHelper _output;

    public SceneEvaluatorAccuracyTests(ITestOutputHelper output)
    {
        _output = output;
        TorchRuntime.Initialise();
    }

    [Fact]
    public void Reads_fresh_ground_truth_renders_with_high_accuracy()
    {
        var accuracy = SceneEvaluatorAccuracy.Measure(new SceneDataset(new SceneDatasetOptions(Seed: 7)), 60);
        _output.WriteLine(accuracy.ToString());
        Assert.True(accuracy.ObjectsExact.Value >= 0.95, $"objects exact {accuracy.ObjectsExact}");
        Assert.True(accuracy.Shape.Value >= 0.8, $"shape {accuracy.Shape}");
        Assert.True(accuracy.Texture.Value >= 0.8, $"texture {accuracy.Texture}");
        Assert.True(accuracy.Direction.Value >= 0.9, $"direction {accuracy.Direction}");
        Assert.True(accuracy.Speed.Value >= 0.9, $"speed {accuracy.Speed}");
        Assert.True(accuracy.Camera.Value >= 0.95, $"camera {accuracy.Camera}");
        Assert.True(accuracy.BoxIoU.Value >= 0.8, $"box IoU {accuracy.BoxIoU}");
    }
}
