using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using VDiTLens.Models.Llama;
using static TorchSharp.torch;

namespace VDiTLens.Training.LanguageModel;

/// <summary>Where a tiny-LM training run reads and writes.</summary>
/// <param name="WorkFolder">Checkpoint (<c>checkpoint/</c>), <c>loss.csv</c>, <c>loss.png</c>, <c>emergence.csv</c> (<see cref="TinyLmEmergence"/>) and its plot <c>emergence.svg</c> (<see cref="EmergencePlot"/>).</param>
/// <param name="OutputFolder">The transformers-style LlamaForCausalLM folder written at the end.</param>
/// <param name="Resume">Continue from <c>WorkFolder/checkpoint</c> (its shape and options win, except Steps and MaxSeconds).</param>
public sealed record TinyLmRun(TinyLmShape Shape, TinyLmOptions Options, string WorkFolder, string OutputFolder, bool Resume, string DeviceName);

/// <summary>What a finished (or time-limited) run produced.</summary>
public sealed record TinyLmResult(int StepsDone, double TrainingSeconds, double FinalLoss, TinyLmEvaluation Evaluation, string OutputFolder, string LossLogPath, string EmergencePath);

/// <summary>
/// Trains the tiny causal LM on its <see cref="ITokenLanguage"/> with next-token cross-entropy: AdamW with warm-up and
/// cosine decay, global gradient clipping, float32, no dropout. Step s trains on the batch of (seed, s), so a resumed
/// run continues exactly. Checkpoints every N steps and at the end, recording the emergence curve at step 0 (the
/// initialised model) and at every checkpoint (<see cref="TinyLmEmergence"/>); the output is a LlamaForCausalLM folder plus
/// <c>training.json</c> (shape, options, summary, held-out evaluation, the language's tokens).
/// </summary>
public static class TinyLmTrainer
{
    public const int EvaluationSequences = 256;

    public static TinyLmResult Run(TinyLmRun run, Device device, IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        string checkpointFolder = Path.Combine(run.WorkFolder, "checkpoint");
        var shape = run.Shape;
        var options = run.Options;
        TinyLmCheckpointState? resumed = null;
        if (run.Resume)
        {
            resumed = TinyLmCheckpoint.ReadState(checkpointFolder);
            shape = resumed.Shape;
            options = resumed.Options with { Steps = run.Options.Steps, MaxSeconds = run.Options.MaxSeconds };
        }
        options.Validate();
        var language = options.TokenLanguage();
        Directory.CreateDirectory(run.WorkFolder);
        string emergence = Path.Combine(run.WorkFolder, TinyLmEmergence.FileName);

        using var lm = TinyLm.Create(shape, language.Tokens.Count, options.Seed, options.InitializerRange, device);
        var parameters = TinyLm.NamedParameters(lm);
        using var optimizer = new NamedAdamW(parameters, beta2: 0.95, weightDecay: options.WeightDecay);
        int start = 0;
        double previousSeconds = 0, lastLoss = double.NaN;
        if (resumed is not null)
        {
            TinyLmCheckpoint.Load(checkpointFolder, lm, optimizer);
            (start, previousSeconds, lastLoss) = (resumed.Step, resumed.TrainingSeconds, resumed.LastLoss);
            progress?.Report(new TrainingProgress(start, options.Steps, lastLoss, 0, 0, TimeSpan.Zero, $"resumed from step {start}"));
        }
        else
        {
            if (File.Exists(emergence)) File.Delete(emergence);
            TinyLmEmergence.Record(emergence, 0, lm, language, options.Seed, options.SequenceLength);
            EmergencePlot.Replot(emergence);
        }

        var log = new LossLog(Path.Combine(run.WorkFolder, "loss.csv"), start);
        var schedule = new LearningRateSchedule(options.LearningRate, options.WarmupSteps, options.Steps);
        lm.train();
        var clock = Stopwatch.StartNew();
        var interval = Stopwatch.StartNew();
        int step = start, intervalSteps = 0;
        double lossSum = 0;
        while (step < options.Steps && !cancel.IsCancellationRequested)
        {
            double lr = schedule.At(step);
            using (var scope = torch.NewDisposeScope())
            {
                var (ids, _) = TokenLanguages.Batch(language, options.Seed, step, options.BatchSize, options.SequenceLength);
                var loss = TinyLm.Loss(lm, torch.tensor(ids, new long[] { options.BatchSize, options.SequenceLength }).to(device));
                optimizer.ZeroGrad();
                loss.backward();
                nn.utils.clip_grad_norm_(parameters.Select(p => p.Parameter), options.GradientClip);
                optimizer.Step(lr);
                lossSum += loss.item<float>();
            }
            step++;
            intervalSteps++;
            bool timeUp = options.MaxSeconds > 0 && clock.Elapsed.TotalSeconds >= options.MaxSeconds;
            if (step % options.LogEvery == 0 || step == options.Steps || timeUp)
            {
                lastLoss = lossSum / intervalSteps;
                double rate = intervalSteps / Math.Max(interval.Elapsed.TotalSeconds, 1e-9);
                log.Add(new LossPoint(step, lastLoss, lr, previousSeconds + clock.Elapsed.TotalSeconds));
                progress?.Report(new TrainingProgress(step, options.Steps, lastLoss, lr, rate, TimeSpan.FromSeconds((options.Steps - step) / Math.Max(rate, 1e-9))));
                (lossSum, intervalSteps) = (0, 0);
                interval.Restart();
            }
            if (step % options.CheckpointEvery == 0 || step == options.Steps || timeUp || cancel.IsCancellationRequested)
            {
                Save(checkpointFolder, step, previousSeconds + clock.Elapsed.TotalSeconds, lastLoss, shape, options, lm, optimizer);
                clock.Stop(); // the emergence probe is not training time
                TinyLmEmergence.Record(emergence, step, lm, language, options.Seed, options.SequenceLength);
                EmergencePlot.Replot(emergence);
                clock.Start();
                progress?.Report(new TrainingProgress(step, options.Steps, lastLoss, lr, 0, TimeSpan.Zero, $"checkpoint at step {step}"));
            }
            if (timeUp)
            {
                progress?.Report(new TrainingProgress(step, options.Steps, lastLoss, lr, 0, TimeSpan.Zero, $"time limit of {options.MaxSeconds:F0} s reached"));
                break;
            }
        }
        if (step == start && resumed is null) // no step taken: the initial weights are the checkpoint
            Save(checkpointFolder, step, previousSeconds, lastLoss, shape, options, lm, optimizer);

        double seconds = previousSeconds + clock.Elapsed.TotalSeconds;
        LossCurvePlot.Write(Path.Combine(run.WorkFolder, "loss.png"), log.Points);
        var evaluation = TinyLmEvaluation.Of(lm, language, options.Seed, EvaluationSequences, options.SequenceLength);
        Write(run.OutputFolder, lm, language, shape, options, new TinyLmSummary(step, seconds, run.DeviceName, lastLoss, parameters.Sum(p => p.Parameter.numel())), evaluation);
        return new TinyLmResult(step, seconds, lastLoss, evaluation, run.OutputFolder, log.Path, emergence);
    }

    private static void Save(string folder, int step, double seconds, double loss, TinyLmShape shape, TinyLmOptions options, LlamaForCausalLM lm, NamedAdamW optimizer) =>
        TinyLmCheckpoint.Save(folder, new TinyLmCheckpointState(step, seconds, loss, shape, options), lm, optimizer);

    private static void Write(string folder, LlamaForCausalLM lm, ITokenLanguage language, TinyLmShape shape, TinyLmOptions options, TinyLmSummary summary, TinyLmEvaluation evaluation)
    {
        LlamaFolderWriter.Write(folder, lm, language.Bos, language.Eos, options.InitializerRange);
        var training = new
        {
            shape, options, summary, evaluation,
            language = new { name = language.Name, description = language.Description, tokens = language.Tokens },
            objective = "next-token cross-entropy over every position, float32, AdamW (beta2 0.95), warm-up then cosine decay to 0.1 of the peak",
        };
        File.WriteAllText(Path.Combine(folder, "training.json"), JsonSerializer.Serialize(training,
            new JsonSerializerOptions
            {
                WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
                NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals, // no step taken: the loss is NaN
            }));
    }
}

/// <summary>The run as <c>training.json</c> records it.</summary>
public sealed record TinyLmSummary(int Steps, double TrainingSeconds, string Device, double FinalLoss, long Parameters);
