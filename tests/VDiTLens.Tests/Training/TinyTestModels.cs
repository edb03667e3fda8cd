using VDiTLens.Runtime;
using VDiTLens.Training;

namespace VDiTLens.Tests.Training;

/// <summary>A very small model and run options so training tests take seconds on the CPU.</summary>
internal static class TinyTestModels
{
    public static TinyModelConfig Micro { get; } = new()
    {
        Heads = 2, HeadDim = 8, Layers = 1, FfnDim = 32, FreqDim = 16, TextDModel = 16, TextHeads = 2, TextFfnDim = 32,
    };

    public static TinyTrainingOptions Options(int steps) => new(
        Steps: steps, BatchSize: 2, LearningRate: 1e-3, WarmupSteps: 2, CheckpointEvery: 1000, LogEvery: 1, LongTextShare: 0.5, Seed: 7);

    public static string TemporaryFolder()
    {
        TorchRuntime.Initialise();
        string folder = Path.Combine(Path.GetTempPath(), "vditlens-tiny-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        return folder;
    }
}
