using System.Text.Json;
using System.Text.Json.Nodes;
using VDiTLens.Cli.Commands;
using VDiTLens.Procedural.Scenes;
using VDiTLens.Training;

namespace VDiTLens.Tests.Cli;

/// <summary>What a model folder's <c>training.json</c> tells the study verbs (written as <see cref="TinyPipelineWriter"/> writes it).</summary>
public sealed class StudyDefaultsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vditlens-defaults-").FullName;

    private void Write(TinyTrainingOptions options, string data) => File.WriteAllText(Path.Combine(_dir, PipelineWarmStart.TrainingFile),
        new JsonObject { ["options"] = JsonSerializer.SerializeToNode(options), ["data"] = data }.ToJsonString());

    [Fact]
    public void A_scene_trained_folder_is_recognised_and_studied_at_its_scene_size()
    {
        Write(TinyTrainingOptions.Small with { Scenes = new SceneDatasetOptions(Frames: 13, Height: 40, Width: 44) }, "VDiTLens.Procedural.Scenes.SceneDataset.Training");
        Assert.True(StudyDefaults.TrainedOnScenes(_dir));
        var sizes = StudyDefaults.Scenes(_dir);
        Assert.Equal((13, 40, 44, 48), (sizes.Frames, sizes.Height, sizes.Width, sizes.MaxSequenceLength));
    }

    [Fact]
    public void A_single_object_folder_is_not_a_scene_folder()
    {
        Write(TinyTrainingOptions.Small with { Scenes = null }, "VDiTLens.Procedural.ProceduralDataset.Training (held-out combinations never seen)");
        Assert.True(StudyDefaults.TrainedOnProceduralClips(_dir));
        Assert.False(StudyDefaults.TrainedOnScenes(_dir));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
