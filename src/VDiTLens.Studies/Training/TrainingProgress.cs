namespace VDiTLens.Training;

/// <summary>A progress report of a training run (one per log interval, plus notes such as checkpoints).</summary>
public sealed record TrainingProgress(int Step, int TotalSteps, double Loss, double LearningRate, double StepsPerSecond, TimeSpan Eta, string? Note = null)
{
    /// <summary>Mean direction cross-entropy over the interval, when the run has a direction contrast.</summary>
    public double? DirectionContrastLoss { get; init; }
}

/// <summary>Where a training run reads and writes.</summary>
/// <param name="WorkFolder">Checkpoint (<c>checkpoint/</c>), <c>loss.csv</c> and <c>loss.png</c>.</param>
/// <param name="OutputFolder">The pipeline folder written at the end (EMA weights).</param>
/// <param name="Resume">Continue from <c>WorkFolder/checkpoint</c> (its options win over <paramref name="Options"/> except Steps and MaxSeconds).</param>
/// <param name="InitFrom">
/// A checkpoint folder whose weights and EMA start a new run (warm start), or a pipeline folder written by
/// <see cref="TinyPipelineWriter"/> (its weights start both); its model config is used.
/// </param>
public sealed record TinyTrainingRun(TinyModelConfig Model, TinyTrainingOptions Options, string WorkFolder, string OutputFolder, bool Resume, string DeviceName,
    string? InitFrom = null)
{
    /// <summary>Write the pipeline's weights in this dtype, the transformer in shards; null = float32 in one file each.</summary>
    public ShardedWeights? Ship { get; init; }
}

/// <summary>Pipeline weights cast to <paramref name="DType"/>, the transformer's split into shards of at most <paramref name="MaxShardBytes"/>.</summary>
public sealed record ShardedWeights(TorchSharp.torch.ScalarType DType, long MaxShardBytes);

/// <summary>What a finished (or time-limited) run produced.</summary>
public sealed record TinyTrainingResult(int StepsDone, double TrainingSeconds, double FinalLoss, string OutputFolder, string LossLogPath, string LossPlotPath);
