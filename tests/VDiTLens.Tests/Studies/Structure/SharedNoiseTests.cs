using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Studies.Structure;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Studies.Structure;

public sealed class SharedNoiseTests
{
    private static string Folder => Path.Combine(Directory.GetParent(Fixtures.Root)!.Parent!.FullName, "models", "vditlens-tiny");

    [Fact]
    public void Every_prompt_row_starts_from_the_single_prompt_noise_of_the_seed()
    {
        TorchRuntime.Initialise();
        using var pipeline = WanPipeline.Load(Folder, ComputeOptions.Cpu32);
        var request = new GenerationRequest { Prompts = new[] { "a red circle", "a blue square", "a green cross" }, Seed = 42, Frames = 9, Height = 32, Width = 32 };
        using var shared = SharedNoise.For(pipeline, request);
        using var single = pipeline.InitialLatents(request with { Prompts = new[] { "anything" } });
        using var batched = pipeline.InitialLatents(request);
        Assert.Equal(batched.shape, shared.shape);
        for (int row = 0; row < 3; row++)
            Assert.True(shared[row].eq(single[0]).all().item<bool>(), $"row {row} is not the seed's single-prompt noise");
        // What the collector used before: one draw for the whole batch, so rows 1 and 2 differ from row 0.
        Assert.True(batched[0].eq(single[0]).all().item<bool>());
        Assert.False(batched[1].eq(single[0]).all().item<bool>());
    }
}
