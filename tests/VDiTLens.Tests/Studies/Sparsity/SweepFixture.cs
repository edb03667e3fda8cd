using VDiTLens.Attention;
using VDiTLens.Pipelines;
using VDiTLens.Procedural;
using VDiTLens.Runtime;
using VDiTLens.Studies.Sparsity;
using VDiTLens.Tests.Pipelines;

namespace VDiTLens.Tests.Studies.Sparsity;

/// <summary>The random pixel-space pipeline (2 layers) behind a generator that counts its generations.</summary>
public sealed class CountingGenerator(ISweepGenerator inner) : ISweepGenerator
{
    public int Generations { get; private set; }
    /// <summary>Cancels the token after this many generations (a stand-in for a kill mid-sweep).</summary>
    public CancellationTokenSource? CancelAfterSource { get; set; }
    public int CancelAfter { get; set; } = int.MaxValue;

    public AttentionSeam Seam => inner.Seam;
    public IReadOnlyDictionary<string, string> Fingerprint => inner.Fingerprint;
    public IReadOnlyList<ClipSpec>? Specs => inner.Specs;
    public int ForwardsPerGeneration => inner.ForwardsPerGeneration;

    public GeneratedSample Generate(CancellationToken cancellation)
    {
        Generations++;
        var sample = inner.Generate(cancellation);
        if (Generations >= CancelAfter) CancelAfterSource?.Cancel();
        return sample;
    }
}

public sealed class SweepFixture : IDisposable
{
    public PixelSpacePipeline Folder { get; }
    public WanPipeline Pipeline { get; }

    public static GenerationRequest Request => new()
    {
        Prompts = new[] { "a red circle moving left", "a blue square moving right" },
        GuidanceScale = 3.0, Steps = 1, Height = 8, Width = 12, Frames = 3, MaxSequenceLength = 8, Seed = 11,
    };

    public SweepFixture()
    {
        TorchRuntime.Initialise();
        Folder = new PixelSpacePipeline();
        Pipeline = WanPipeline.Load(Folder.Path, ComputeOptions.Cpu32);
    }

    public CountingGenerator Generator(GenerationRequest? request = null) =>
        new(new PipelineSweepGenerator(Pipeline, request ?? Request, Folder.Path));

    public void Dispose()
    {
        Pipeline.Dispose();
        Folder.Dispose();
    }
}
