using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Studies.Structure;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Studies.Structure;

/// <summary>
/// The behaviour the `edit` defaults were chosen for (docs/structure.md), on the committed embedded model: the edited
/// video follows the source's trajectory more closely than the plain target does, and reads as the target.
/// </summary>
public sealed class EmbeddedModelEditTests(ITestOutputHelper output)
{
    private static string Folder => Path.Combine(Directory.GetParent(Fixtures.Root)!.Parent!.FullName, "models", "vditlens-tiny");

    [Theory]
    [InlineData("a red circle moving right slowly on a plain background", "a blue circle moving right slowly on a plain background")]
    [InlineData("a blue triangle moving left slowly on a plain background", "a blue cross moving left slowly on a plain background")]
    public void Default_edit_keeps_the_source_trajectory_and_reads_as_the_target(string source, string target)
    {
        TorchRuntime.Initialise();
        using var pipeline = WanPipeline.Load(Folder, ComputeOptions.Cpu32);
        var options = new EditOptions { SourcePrompt = source, TargetPrompt = target, Seed = 0 };
        Assert.Equal(new[] { EditSites.LastSelfAttention }, options.Sites);
        using var videos = AttentionEdit.Run(pipeline, options);
        var m = EditMetrics.Measure(videos, source, target);
        output.WriteLine($"trajectory distance to the source: edited {m.EditedTrajectoryDistance:F3} px, plain target {m.TargetTrajectoryDistance:F3} px; " +
            $"edited adherence {m.EditedAdherence}, target adherence {m.TargetAdherence}");
        Assert.True(m.EditedTrajectoryDistance < m.TargetTrajectoryDistance,
            $"edited {m.EditedTrajectoryDistance:F3} px is not closer to the source's trajectory than the plain target ({m.TargetTrajectoryDistance:F3} px)");
        Assert.Equal(1.0, m.EditedAdherence);
    }
}
