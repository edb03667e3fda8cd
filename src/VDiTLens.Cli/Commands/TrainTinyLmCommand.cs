using System.CommandLine;
using Spectre.Console;
using TorchSharp;
using VDiTLens.Training;
using VDiTLens.Training.LanguageModel;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens train-tiny-lm</c>: trains the tiny causal Llama on the procedural token language (<see cref="TinyLmTrainer"/>).</summary>
internal static class TrainTinyLmCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var d = new TinyLmOptions();
        var s = new TinyLmShape();
        var output = new Option<string>("--out") { Description = "LlamaForCausalLM folder to write", DefaultValueFactory = _ => "models/vditlens-tiny-lm" };
        var work = new Option<string>("--work") { Description = "checkpoint, loss.csv, loss.png, emergence.csv and emergence.svg folder", DefaultValueFactory = _ => "out/train-tiny-lm" };
        var steps = new Option<int>("--train-steps") { Description = "total optimiser steps (end of the cosine schedule); 0 writes the initialised model", DefaultValueFactory = _ => d.Steps };
        var batch = new Option<int>("--batch") { Description = "sequences per step", DefaultValueFactory = _ => d.BatchSize };
        var length = new Option<int>("--length") { Description = "tokens per sequence, <bos> included", DefaultValueFactory = _ => d.SequenceLength };
        var lr = new Option<double>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => d.LearningRate };
        var warmup = new Option<int>("--warmup") { Description = "warm-up steps", DefaultValueFactory = _ => d.WarmupSteps };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay (matrices)", DefaultValueFactory = _ => d.WeightDecay };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "steps between checkpoints", DefaultValueFactory = _ => d.CheckpointEvery };
        var logEvery = new Option<int>("--log-every") { Description = "steps between loss rows / progress lines", DefaultValueFactory = _ => d.LogEvery };
        var maxMinutes = new Option<double>("--max-minutes") { Description = "stop (with a checkpoint) after this many minutes of training; 0 = no limit", DefaultValueFactory = _ => 0 };
        var language = new Option<string>("--language") { Description = "token language: bigram-backcopy (Guo et al.'s Bigram-Backcopy) or copy-reverse-count", DefaultValueFactory = _ => d.Language };
        language.AcceptOnlyFromAmong(TokenLanguages.All.Select(l => l.Name).ToArray());
        var resume = new Option<bool>("--resume") { Description = "continue from WORK/checkpoint" };
        var replot = new Option<bool>("--replot") { Description = "only redraw WORK/emergence.svg from WORK/emergence.csv (no training)" };
        var layers = new Option<int>("--layers") { Description = "decoder layers", DefaultValueFactory = _ => s.Layers };
        var hidden = new Option<int>("--hidden-size") { Description = "model width", DefaultValueFactory = _ => s.HiddenSize };
        var heads = new Option<int>("--heads") { Description = "attention heads", DefaultValueFactory = _ => s.Heads };
        var intermediate = new Option<int>("--intermediate-size") { Description = "MLP width", DefaultValueFactory = _ => s.IntermediateSize };
        var attentionBias = new Option<bool>("--attention-bias") { Description = "biases on the attention projections (transformers' attention_bias)", DefaultValueFactory = _ => s.AttentionBias };
        var command = new Command("train-tiny-lm", "Train a tiny causal Llama on a procedural token language (by default Bigram-Backcopy after <bos>): a model with an emergent first-token attention sink");
        foreach (var o in new Option[] { output, work, language, steps, batch, length, lr, warmup, weightDecay, checkpointEvery, logEvery, maxMinutes, resume, replot, layers, hidden, heads, intermediate, attentionBias })
            command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(result =>
        {
            if (result.GetValue(replot))
            {
                AnsiConsole.WriteLine($"wrote {EmergencePlot.Replot(Path.Combine(result.GetValue(work)!, TinyLmEmergence.FileName))}");
                return 0;
            }
            var compute = common.Resolve(result);
            var options = d with
            {
                Steps = result.GetValue(steps), BatchSize = result.GetValue(batch), SequenceLength = result.GetValue(length),
                LearningRate = result.GetValue(lr), WarmupSteps = result.GetValue(warmup), WeightDecay = result.GetValue(weightDecay),
                CheckpointEvery = result.GetValue(checkpointEvery), LogEvery = result.GetValue(logEvery),
                MaxSeconds = result.GetValue(maxMinutes) * 60, Seed = compute.Seed, Language = result.GetValue(language)!,
            };
            var shape = new TinyLmShape(result.GetValue(layers), result.GetValue(hidden), result.GetValue(heads), result.GetValue(intermediate), AttentionBias: result.GetValue(attentionBias));
            string deviceName = compute.Device.type == DeviceType.CUDA ? compute.Device.ToString() : $"cpu ({torch.get_num_threads()} libtorch threads)";
            var run = new TinyLmRun(shape, options, result.GetValue(work)!, result.GetValue(output)!, result.GetValue(resume), deviceName);
            AnsiConsole.WriteLine(run.Resume
                ? $"train-tiny-lm on {deviceName}: resuming from {run.WorkFolder}, to step {options.Steps}"
                : $"train-tiny-lm on {deviceName}: {options.Steps} steps of {options.BatchSize} × {options.SequenceLength} tokens, {shape.Layers} layers × {shape.HiddenSize}, {options.Language}, seed {options.Seed}, float32");
            var trained = TinyLmTrainer.Run(run, compute.Device, new ConsoleProgress());
            AnsiConsole.WriteLine($"done: {trained.StepsDone} steps, {trained.TrainingSeconds:F0} s of training, final loss {trained.FinalLoss:F4}; " +
                                  $"held-out loss {trained.Evaluation.Loss:F4}, answer accuracy {trained.Evaluation.AnswerAccuracy:P1}, " +
                                  $"loss on the free tokens {trained.Evaluation.FreeLoss:F4} (the language's entropy there: {trained.Evaluation.FreeEntropy:F4}) ({trained.Evaluation.Sequences} sequences)");
            AnsiConsole.WriteLine($"wrote {trained.OutputFolder}, {trained.LossLogPath}, {trained.EmergencePath} and its plot {EmergencePlot.FileName}");
            return 0;
        });
        return command;
    }

    /// <summary>Prints each report as it arrives, on the training thread.</summary>
    private sealed class ConsoleProgress : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p) => AnsiConsole.WriteLine(p.Note is not null
            ? $"step {p.Step}: {p.Note}"
            : $"step {p.Step,6}/{p.TotalSteps}  loss {p.Loss:F4}  lr {p.LearningRate:E2}  {p.StepsPerSecond:F2} it/s  ETA {p.Eta:hh\\:mm\\:ss}");
    }
}
