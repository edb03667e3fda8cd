using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using VDiTLens.Schedulers;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Text;
using VDiTLens.Training;

namespace VDiTLens.Tests.Training;

/// <summary>The committed models/vditlens-tiny: within budget, loadable by every loader, and it generates.</summary>
public sealed class EmbeddedModelTests
{
    private static string Folder => Path.Combine(Directory.GetParent(Fixtures.Root)!.Parent!.FullName, "models", "vditlens-tiny");

    [Fact]
    public void Embedded_model_is_under_25_MB_and_loads_through_the_standard_loaders()
    {
        long bytes = Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(bytes <= 25L * 1024 * 1024, $"{bytes} bytes");
        var options = ComputeOptions.Cpu32;
        using (var transformer = TransformerLoader.Load(Folder, options)) Assert.Equal("WanTransformer3DModel", transformer.ClassName);
        using (var encoder = TextEncoderLoader.Load(Folder, options)) Assert.Equal("UMT5EncoderModel", encoder.ClassName);
        Assert.IsType<FlowMatchEulerDiscreteScheduler>(SchedulerLoader.Load(Path.Combine(Folder, "scheduler")));
        Assert.Equal(36, TokenizerLoader.Load(Folder).VocabularySize);
    }

    [Fact]
    public void Embedded_model_draws_the_prompted_colour()
    {
        using var sampler = new TinySampler(Folder, ComputeOptions.Cpu32);
        using var clips = sampler.Generate(new[] { "a red square moving left slowly on a plain background" }, new long[] { 1 }, steps: 10);
        using var frames = VDiTLens.Procedural.ClipRenderer.ToFramesFirst(clips[0]);
        Assert.Equal(VDiTLens.Procedural.ObjectColour.Red, VDiTLens.Procedural.ClipEvaluator.Evaluate(frames).Colour);
    }
}
