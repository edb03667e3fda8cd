using System.Text.Json.Serialization;
using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Retraining;

/// <summary>What is re-initialised: whole blocks, or only their attention among the video tokens (the block's self- or joint-attention).</summary>
public enum RetrainScope { Block, Attention }

/// <summary>
/// What the student is trained to reproduce: each retrained block's output given the teacher's input to it, the
/// model's final output, or the data (the family's denoising objective on the teacher's generated samples).
/// </summary>
public enum DistillationTarget { BlockOutputs, FinalOutput, Data }

/// <summary>Options of <c>vditlens retrain</c>; everything that shapes the run is here, so a checkpoint can check it resumes the same run.</summary>
public sealed record RetrainOptions : FirstFrameOptions
{
    /// <summary>Indices into the transformer's blocks in forward order (<see cref="Models.Common.BlockHooks.Names"/>; HunyuanVideo: the dual-stream blocks, then the single-stream ones).</summary>
    public required IReadOnlyList<int> Blocks { get; init; }
    public RetrainScope Scope { get; init; } = RetrainScope.Block;
    public DistillationTarget Target { get; init; } = DistillationTarget.BlockOutputs;
    /// <summary>
    /// Which denoiser is retrained, by its pipeline component name: <c>transformer</c> (default; with Wan2.2 A14B the
    /// high-noise expert, t ≥ boundary) or <c>transformer_2</c> (Wan2.2 A14B's low-noise expert, trained on the pool
    /// entries below the boundary). The saved pipeline replaces only that component's weights.
    /// </summary>
    public string Expert { get; init; } = Attention.AttentionRunState.MainExpert;
    public int TrainingSteps { get; init; } = 500;
    public double LearningRate { get; init; } = 1e-3;
    public double WeightDecay { get; init; } = 0.0;
    public int CheckpointEvery { get; init; } = 50;
    public long Seed { get; init; }

    /// <summary>Prompts of the distillation pool (one generation per prompt and pool seed).</summary>
    public required IReadOnlyList<string> Prompts { get; init; }
    public int PoolSeeds { get; init; } = 2;
    public int GenerationSteps { get; init; } = 10;
    /// <summary>Guidance of the pool's generations, and HunyuanVideo's embedded guidance in every training call.</summary>
    public double GuidanceScale { get; init; } = 5.0;
    public int Frames { get; init; } = 9;
    public int Height { get; init; } = 32;
    public int Width { get; init; } = 32;
    public int MaxSequenceLength { get; init; } = 16;


    public void Validate(int layers)
    {
        if (Blocks.Count == 0) throw new VDiTLensException("Blocks: name at least one block to retrain");
        foreach (int b in Blocks)
            if (b < 0 || b >= layers) throw new VDiTLensException($"Blocks: block {b} does not exist (the model has blocks 0..{layers - 1})");
        if (TrainingSteps < 1) throw new VDiTLensException($"TrainingSteps {TrainingSteps}: must be at least 1");
        if (!(LearningRate > 0)) throw new VDiTLensException($"LearningRate {LearningRate}: must be positive");
        if (CheckpointEvery < 1) throw new VDiTLensException($"CheckpointEvery {CheckpointEvery}: must be at least 1");
        if (Prompts.Count == 0) throw new VDiTLensException("Prompts: the distillation pool needs at least one prompt");
        if (PoolSeeds < 1) throw new VDiTLensException($"PoolSeeds {PoolSeeds}: must be at least 1");
    }
}
