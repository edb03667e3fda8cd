using System.Diagnostics;
using TorchSharp;
using VDiTLens.Procedural;
using VDiTLens.Schedulers;
using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>
/// Trains the tiny model with rectified flow (see <see cref="FlowMatching"/>): AdamW with warm-up and cosine decay,
/// global gradient clipping, an EMA of the weights, caption dropout for classifier-free guidance, batches rendered on
/// background CPU threads, checkpoints every N steps and at the end. Precision: float32 weights and compute; on CUDA,
/// matmuls run in TF32.
/// </summary>
public static class TinyTrainer
{
    /// <summary><see cref="TinyTrainingOptions.Steps"/> value meaning: size the run from the time budget.</summary>
    public const int AutoSteps = 0;

    /// <summary>An automatic run is sized from the rate between these steps (after start-up).</summary>
    private const int WarmSteps = 20, MeasuredSteps = 80;

    public static TinyTrainingResult Run(TinyTrainingRun run, Device device, IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        string checkpointFolder = Path.Combine(run.WorkFolder, "checkpoint");
        var options = run.Options;
        var modelConfig = run.Model;
        CheckpointState? resumed = null;
        if (run.Resume)
        {
            resumed = TrainingCheckpoint.ReadState(checkpointFolder);
            modelConfig = resumed.Model;
            options = resumed.Options with { Steps = run.Options.Steps == AutoSteps ? resumed.Options.Steps : run.Options.Steps, MaxSeconds = run.Options.MaxSeconds };
        }
        CheckpointState? warmStart = null;
        if (run.InitFrom is not null && resumed is null)
        {
            warmStart = PipelineWarmStart.IsPipeline(run.InitFrom) ? PipelineWarmStart.ReadState(run.InitFrom) : TrainingCheckpoint.ReadState(run.InitFrom);
            modelConfig = warmStart.Model;
        }
        options.Validate();
        Directory.CreateDirectory(run.WorkFolder);

        using var model = new TinyModel(modelConfig, device, options.Seed);
        var parameters = model.NamedParameters;
        using var optimizer = new NamedAdamW(parameters, weightDecay: options.WeightDecay);
        using var ema = new ExponentialMovingAverage(parameters, options.EmaDecay);
        int start = 0;
        double previousSeconds = 0, lastLoss = double.NaN;
        if (resumed is not null)
        {
            TrainingCheckpoint.Load(checkpointFolder, model, ema, optimizer);
            start = resumed.Step;
            previousSeconds = resumed.TrainingSeconds;
            lastLoss = resumed.LastLoss;
            progress?.Report(new TrainingProgress(start, options.Steps, lastLoss, 0, 0, TimeSpan.Zero, $"resumed from step {start}"));
        }

        if (warmStart is not null)
        {
            if (PipelineWarmStart.IsPipeline(run.InitFrom!)) PipelineWarmStart.LoadWeights(run.InitFrom!, model, ema);
            else TrainingCheckpoint.LoadWeights(run.InitFrom!, model, ema);
            previousSeconds = warmStart.TrainingSeconds;
            progress?.Report(new TrainingProgress(0, options.Steps, warmStart.LastLoss, 0, 0, TimeSpan.Zero,
                $"warm start from {run.InitFrom} (step {warmStart.Step}, {warmStart.TrainingSeconds:F0} s of training)"));
        }

        var log = new LossLog(Path.Combine(run.WorkFolder, "loss.csv"), start);
        var emergence = options.EmergenceClips > 0 ? new EmergenceRecorder(run.WorkFolder, options) : null;
        if (emergence is not null && start == 0 && !File.Exists(emergence.CsvPath)) RecordEmergence(emergence, 0, model, run.WorkFolder, progress);
        bool sizeFromTime = options.Steps == AutoSteps;
        if (sizeFromTime)
        {
            if (options.MaxSeconds <= 0) throw new VDiTLensException("Steps 0 (size the run from the time budget) needs MaxSeconds > 0");
            options = options with { Steps = int.MaxValue };
        }
        var schedule = new LearningRateSchedule(options.LearningRate, options.WarmupSteps, options.Steps);
        var factory = new TrainingBatchFactory(new ProceduralDataset(), options);
        model.Train(true);

        var clock = Stopwatch.StartNew();
        var interval = Stopwatch.StartNew();
        int step = start, intervalSteps = 0;
        double warmTime = 0;
        using var lossSum = torch.zeros(1, device: device);
        using var contrastSum = torch.zeros(1, device: device);
        using (var prefetcher = new BatchPrefetcher(factory, start, options.Steps))
        try
        {
            while (step < options.Steps && !cancel.IsCancellationRequested)
            {
                double lr = schedule.At(step);
                using (var scope = torch.NewDisposeScope())
                using (var batch = prefetcher.Next())
                {
                    var clips = batch.Clips.to(device);
                    var noise = StepNoise(batch.Clips.shape, batch.NoiseSeed, device);
                    var sigma = batch.Sigma.to(device);
                    var text = model.EncodeText(batch.Ids, batch.Mask, batch.TextLength);
                    var (noisy, target) = FlowMatching.Interpolate(clips, noise, sigma);
                    Tensor loss, flow;
                    if (batch.DirectionContrast is { } contrast)
                    {
                        (flow, var crossEntropy) = DirectionContrastLoss.Compute(model, noisy, sigma, text, target, contrast, batch.TextLength, options.DirectionContrastTemperature);
                        loss = flow + options.DirectionContrastWeight * crossEntropy;
                        contrastSum.add_(crossEntropy.detach());
                    }
                    else
                    {
                        var prediction = model.Predict(noisy, sigma, text);
                        loss = flow = nn.functional.mse_loss(prediction, target);
                    }
                    optimizer.ZeroGrad();
                    loss.backward();
                    nn.utils.clip_grad_norm_(parameters.Select(p => p.Parameter), options.GradientClip);
                    optimizer.Step(lr);
                    ema.Update(step);
                    lossSum.add_(flow.detach()); // the MSE alone, comparable with runs without the contrast
                }
                step++;
                intervalSteps++;
                if (sizeFromTime && step - start == WarmSteps) warmTime = clock.Elapsed.TotalSeconds;
                if (sizeFromTime && step - start == MeasuredSteps)
                {
                    // Fix the run length (and so the cosine schedule) from the measured rate; warm-up does not depend on it.
                    double rate = (MeasuredSteps - WarmSteps) / (clock.Elapsed.TotalSeconds - warmTime);
                    int total = step + (int)(rate * (options.MaxSeconds - clock.Elapsed.TotalSeconds) * 0.97);
                    options = options with { Steps = Math.Max(total, step + 1) };
                    schedule = schedule with { TotalSteps = options.Steps };
                    progress?.Report(new TrainingProgress(step, options.Steps, double.NaN, lr, rate, TimeSpan.Zero, $"measured {rate:F2} it/s: the run is {options.Steps} steps"));
                }

                bool timeUp = options.MaxSeconds > 0 && clock.Elapsed.TotalSeconds >= options.MaxSeconds;
                if (step % options.LogEvery == 0 || step == options.Steps || timeUp)
                {
                    lastLoss = lossSum.item<float>() / intervalSteps;
                    lossSum.zero_();
                    double? contrastLoss = null;
                    if (options.DirectionContrastCount > 0)
                    {
                        contrastLoss = contrastSum.item<float>() / intervalSteps;
                        contrastSum.zero_();
                    }
                    double rate = intervalSteps / Math.Max(interval.Elapsed.TotalSeconds, 1e-9);
                    log.Add(new LossPoint(step, lastLoss, lr, previousSeconds + clock.Elapsed.TotalSeconds));
                    progress?.Report(new TrainingProgress(step, options.Steps, lastLoss, lr, rate, TimeSpan.FromSeconds((options.Steps - step) / Math.Max(rate, 1e-9)))
                        { DirectionContrastLoss = contrastLoss });
                    interval.Restart();
                    intervalSteps = 0;
                }
                if (step % options.CheckpointEvery == 0 || step == options.Steps || timeUp || cancel.IsCancellationRequested)
                {
                    Save(checkpointFolder, step, previousSeconds + clock.Elapsed.TotalSeconds, lastLoss, modelConfig, options, model, ema, optimizer);
                    progress?.Report(new TrainingProgress(step, options.Steps, lastLoss, lr, 0, TimeSpan.Zero, $"checkpoint at step {step}"));
                    if (emergence is not null) RecordEmergence(emergence, step, model, run.WorkFolder, progress);
                }
                if (timeUp)
                {
                    progress?.Report(new TrainingProgress(step, options.Steps, lastLoss, lr, 0, TimeSpan.Zero, $"time limit of {options.MaxSeconds:F0} s reached"));
                    break;
                }
            }
        }
        catch (Exception crash) when (crash is not OperationCanceledException)
        {
            throw Crashed(crash, step, run, checkpointFolder, log);
        }
        if (sizeFromTime && options.Steps == int.MaxValue) options = options with { Steps = step }; // stopped before the rate was measured

        double seconds = previousSeconds + clock.Elapsed.TotalSeconds;
        string plot = Path.Combine(run.WorkFolder, "loss.png");
        LossCurvePlot.Write(plot, log.Points);
        var summary = new TrainingSummary(step, seconds, run.DeviceName, lastLoss,
            model.Transformer.parameters().Sum(p => p.numel()), model.TextEncoder.parameters().Sum(p => p.numel()));
        TinyPipelineWriter.Write(run.OutputFolder, modelConfig, options, ema.Weights, summary, run.Ship);
        return new TinyTrainingResult(step, seconds, lastLoss, run.OutputFolder, log.Path, plot);
    }

    /// <summary>
    /// The step's noise, drawn on the training device from a generator seeded by the step. TorchSharp's Generator is
    /// CPU-only, so on CUDA the device's default generator is re-seeded instead (same effect: a function of the step).
    /// </summary>
    private static Tensor StepNoise(long[] shape, long seed, Device device)
    {
        if (device.type == DeviceType.CUDA)
        {
            torch.cuda.manual_seed(seed);
            return torch.randn(shape, device: device);
        }
        using var generator = new Generator((ulong)seed);
        return torch.randn(shape, generator: generator);
    }

    /// <summary>
    /// A step failed (e.g. a native TorchSharp error): the pipeline of the last checkpoint is exported so the run is not
    /// lost, and the error says how to continue.
    /// </summary>
    private static VDiTLensException Crashed(Exception crash, int step, TinyTrainingRun run, string checkpointFolder, LossLog log)
    {
        LossCurvePlot.Write(Path.Combine(run.WorkFolder, "loss.png"), log.Points);
        if (!TrainingCheckpoint.Exists(checkpointFolder))
            return new VDiTLensException($"training failed at step {step} before any checkpoint in {checkpointFolder} ({crash.Message}); lower --checkpoint-every", crash);
        var state = TrainingCheckpoint.ReadState(checkpointFolder);
        using (var file = IO.SafeTensorsFile.Open(Path.Combine(checkpointFolder, "ema.safetensors")))
        {
            var weights = file.LoadAll(torch.CPU);
            long transformer = weights.Where(w => w.Key.StartsWith(TinyModel.TransformerPrefix)).Sum(w => w.Value.numel());
            long text = weights.Where(w => w.Key.StartsWith(TinyModel.TextEncoderPrefix)).Sum(w => w.Value.numel());
            TinyPipelineWriter.Write(run.OutputFolder, state.Model, state.Options,
                weights, new TrainingSummary(state.Step, state.TrainingSeconds, run.DeviceName, state.LastLoss, transformer, text));
            foreach (var t in weights.Values) t.Dispose();
        }
        return new VDiTLensException($"training failed at step {step} ({crash.Message}); wrote {run.OutputFolder} from the checkpoint of step {state.Step}; " +
            $"continue with --resume --work {run.WorkFolder}", crash);
    }

    /// <summary>Appends the step's emergence rows, redraws the plot and reports the headline numbers.</summary>
    /// <remarks>A failed record is reported and training goes on: the curve is a by-product, the weights are the run.</remarks>
    private static void RecordEmergence(EmergenceRecorder recorder, int step, TinyModel model, string folder, IProgress<TrainingProgress>? progress)
    {
        IReadOnlyList<EmergencePoint> points;
        try { points = recorder.Record(step, model); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            progress?.Report(new TrainingProgress(step, 0, double.NaN, 0, 0, TimeSpan.Zero, $"emergence record failed at step {step}: {e.Message}"));
            return;
        }
        EmergencePlot.Write(Path.Combine(folder, EmergencePlot.FileName), EmergenceRecorder.Read(recorder.CsvPath));
        double Max(string metric) => points.Where(p => p.Metric == metric).Select(p => p.Value).DefaultIfEmpty(double.NaN).Max();
        double firstFrame = points.Where(p => p.Metric == "first_frame_share").Zip(points.Where(p => p.Metric == "first_frame_uniform"), (a, u) => a.Value / u.Value).DefaultIfEmpty(double.NaN).Max();
        progress?.Report(new TrainingProgress(step, 0, double.NaN, 0, 0, TimeSpan.Zero,
            $"emergence: first-frame mass up to {firstFrame:F2}× uniform, peak ratio up to {Max("peak_ratio"):F1}, objects correct {Max("objects_correct"):P0}"));
    }

    private static void Save(string folder, int step, double seconds, double loss, TinyModelConfig config, TinyTrainingOptions options,
        TinyModel model, ExponentialMovingAverage ema, NamedAdamW optimizer) =>
        TrainingCheckpoint.Save(folder, new CheckpointState(step, seconds, loss, config, options), model, ema, optimizer);
}
