using VDiTLens.Procedural;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Training;

namespace VDiTLens.Tests.Training;

public sealed class TrainingBatchFactoryTests
{
    [Fact]
    public void A_step_always_gets_the_same_batch()
    {
        var options = TinyTestModels.Options(10) with { BatchSize = 3 };
        TinyTestModels.TemporaryFolder(); // initialises libtorch
        var factory = new TrainingBatchFactory(new ProceduralDataset(), options);
        using var a = factory.Build(5);
        using var b = factory.Build(5);
        using var c = factory.Build(6);
        Assert.Equal(new long[] { 3, 3, 9, 32, 32 }, a.Clips.shape);
        Assert.Equal(0.0, Fixtures.RelativeL2(a.Clips, b.Clips));
        Assert.Equal(0.0, Fixtures.RelativeL2(a.Sigma, b.Sigma));
        Assert.Equal(a.NoiseSeed, b.NoiseSeed);
        Assert.Equal(a.TextLength, b.TextLength);
        Assert.NotEqual(a.NoiseSeed, c.NoiseSeed);
        Assert.True(Fixtures.RelativeL2(a.Clips, c.Clips) > 0.01);
    }

    [Fact]
    public void Clips_are_the_rendered_training_examples_in_channels_first_layout()
    {
        var options = TinyTestModels.Options(10) with { BatchSize = 2 };
        TinyTestModels.TemporaryFolder();
        var dataset = new ProceduralDataset();
        using var batch = new TrainingBatchFactory(dataset, options).Build(4);
        using var expected = ClipRenderer.RenderChannelsFirst(dataset.Training(4 * 2 + 1).Spec);
        Fixtures.AssertClose(batch.Clips[1], expected, 0, "clip 1 of step 4");
    }

    [Fact]
    public void About_a_tenth_of_captions_are_dropped_and_sigmas_follow_the_shift()
    {
        var options = TinyTestModels.Options(10) with { BatchSize = 4, CaptionDropout = 0.1, SigmaShift = 3.0 };
        TinyTestModels.TemporaryFolder();
        var factory = new TrainingBatchFactory(new ProceduralDataset(), options);
        int dropped = 0, total = 0, above = 0;
        for (int step = 0; step < 100; step++)
        {
            using var batch = factory.Build(step);
            var masks = batch.Mask.sum(1).data<long>().ToArray();
            var sigmas = batch.Sigma.data<float>().ToArray();
            dropped += masks.Count(m => m == 1); // only EOS
            above += sigmas.Count(s => s > 0.75f); // shift(0.5) = 0.75 with shift 3
            total += masks.Length;
            Assert.All(sigmas, s => Assert.InRange(s, 0f, 1f));
        }
        Assert.InRange(dropped / (double)total, 0.05, 0.16);
        Assert.InRange(above / (double)total, 0.42, 0.58);
    }
}
