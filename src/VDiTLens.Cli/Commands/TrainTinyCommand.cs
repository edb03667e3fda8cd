using System.CommandLine;
using Spectre.Console;
using TorchSharp;
using VDiTLens.Runtime;
using VDiTLens.Training;

namespace VDiTLens.Cli.Commands;

internal static class TrainTinyCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var d = new TinyTrainingOptions();
        var m = new TinyModelConfig();
        var output = new Option<string>("--out") { Description = "pipeline folder to write (EMA weights)", DefaultValueFactory = _ => "models/vditlens-tiny" };
        var work = new Option<string>("--work") { Description = "checkpoint, loss.csv and loss.png folder", DefaultValueFactory = _ => "out/train-tiny" };
        var steps = new Option<int>("--train-steps") { Description = "total optimiser steps (end of the cosine schedule); 0 = as many as fit in --max-minutes", DefaultValueFactory = _ => d.Steps };
        var batch = new Option<int>("--batch") { Description = "clips per step", DefaultValueFactory = _ => d.BatchSize };
        var lr = new Option<double>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => d.LearningRate };
        var warmup = new Option<int>("--warmup") { Description = "warm-up steps", DefaultValueFactory = _ => d.WarmupSteps };
        var ema = new Option<double>("--ema") { Description = "EMA decay", DefaultValueFactory = _ => d.EmaDecay };
        var shift = new Option<double>("--shift") { Description = "sigma shift of training and of the shipped scheduler", DefaultValueFactory = _ => d.SigmaShift };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "steps between checkpoints", DefaultValueFactory = _ => d.CheckpointEvery };
        var logEvery = new Option<int>("--log-every") { Description = "steps between loss rows / progress lines", DefaultValueFactory = _ => d.LogEvery };
        var maxMinutes = new Option<double>("--max-minutes") { Description = "stop (with a checkpoint) after this many minutes of training; 0 = no limit", DefaultValueFactory = _ => 0 };
        var resume = new Option<bool>("--resume") { Description = "continue from WORK/checkpoint" };
        var layers = new Option<int>("--layers") { Description = "transformer blocks", DefaultValueFactory = _ => m.Layers };
        var headDim = new Option<int>("--head-dim") { Description = "attention head width (4 heads)", DefaultValueFactory = _ => m.HeadDim };
        var ffn = new Option<int>("--ffn-dim") { Description = "feed-forward width", DefaultValueFactory = _ => m.FfnDim };
        var initFrom = new Option<string?>("--init-from") { Description = "start from this checkpoint folder's weights and EMA, or a pipeline folder's weights (fresh optimizer and schedule)" };
        var longText = new Option<double>("--long-text-share") { Description = "share of steps whose prompt states are zero-padded past 16 rows", DefaultValueFactory = _ => d.LongTextShare };
        var trainShift = new Option<double>("--train-shift") { Description = "sigma shift of training only (0 = --shift); larger spends more steps at high noise", DefaultValueFactory = _ => d.SampleShift };
        var contrastShare = new Option<double>("--direction-contrast") { Description = "share of each batch also scored under all four direction captions (diffusion-classifier cross-entropy; 0 = off)", DefaultValueFactory = _ => d.DirectionContrastShare };
        var contrastWeight = new Option<double>("--direction-weight") { Description = "weight of the direction cross-entropy", DefaultValueFactory = _ => d.DirectionContrastWeight };
        var contrastTemperature = new Option<double>("--direction-temperature") { Description = "MSE per logit of the direction cross-entropy", DefaultValueFactory = _ => d.DirectionContrastTemperature };
        var preset = new Option<string>("--preset") { Description = "tiny (single-object 9×32×32 clips, 4 layers) or small (multi-object 17×48×48 scenes, 12 layers × 384, emergence curve)", DefaultValueFactory = _ => "tiny" };
        preset.AcceptOnlyFromAmong("tiny", "small");
        var arm = new Option<string>("--arm") { Description = "how the clip enters the transformer: plain, frame0 (own patch map for frame 0) or bos (constant frame before every clip)", DefaultValueFactory = _ => TrainingArm.Plain };
        arm.AcceptOnlyFromAmong(TrainingArm.All.ToArray());
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay (preset default: tiny 0.01, small 0.1)" };
        var emergenceClips = new Option<int>("--emergence-clips") { Description = "held-out scenes probed and sampled at step 0 and every checkpoint (small preset; 0 = off)" };
        var shipBf16 = new Option<int>("--bf16-shards-mb") { Description = "write the pipeline's weights in bfloat16, the transformer in shards of at most this many MiB (0 = float32, one file)", DefaultValueFactory = _ => 0 };
        var evaluate = new Option<int>("--eval") { Description = "after training, evaluate this many held-out prompts per combination (0 = skip)", DefaultValueFactory = _ => 0 };
        var command = new Command("train-tiny", "Train the embedded tiny pixel-space Wan model on procedural clips");
        foreach (var o in new Option[] { output, work, steps, batch, lr, warmup, ema, shift, checkpointEvery, logEvery, maxMinutes, resume, layers, headDim, ffn, initFrom, longText, trainShift, contrastShare, contrastWeight, contrastTemperature, evaluate, preset, arm, weightDecay, emergenceClips, shipBf16 })
            command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var compute = common.Resolve(result);
            var device = compute.Device;
            if (device.type == DeviceType.CUDA)
            {
                torch.backends.cuda.matmul.allow_tf32 = true;
                torch.backends.cudnn.allow_tf32 = true;
            }
            bool small = result.GetValue(preset) == "small";
            var baseOptions = small ? TinyTrainingOptions.Small : d;
            var baseModel = small ? TinyModelConfig.Small : m;
            // An option given on the command line wins; otherwise the preset's value.
            T Given<T>(Option<T> option, T preset) => result.GetResult(option) is { Implicit: false } ? result.GetValue(option)! : preset;
            var options = baseOptions with
            {
                Steps = Given(steps, baseOptions.Steps), BatchSize = Given(batch, baseOptions.BatchSize), LearningRate = Given(lr, baseOptions.LearningRate),
                WarmupSteps = Given(warmup, baseOptions.WarmupSteps), EmaDecay = Given(ema, baseOptions.EmaDecay), SigmaShift = Given(shift, baseOptions.SigmaShift),
                CheckpointEvery = Given(checkpointEvery, baseOptions.CheckpointEvery), LogEvery = Given(logEvery, baseOptions.LogEvery),
                MaxSeconds = result.GetValue(maxMinutes) * 60, Seed = compute.Seed, LongTextShare = Given(longText, baseOptions.LongTextShare),
                SampleShift = result.GetValue(trainShift), DirectionContrastShare = result.GetValue(contrastShare),
                DirectionContrastWeight = result.GetValue(contrastWeight), DirectionContrastTemperature = result.GetValue(contrastTemperature),
                WeightDecay = Given(weightDecay, baseOptions.WeightDecay), EmergenceClips = Given(emergenceClips, baseOptions.EmergenceClips),
            };
            var model = baseModel with
            {
                Layers = Given(layers, baseModel.Layers), HeadDim = Given(headDim, baseModel.HeadDim), FfnDim = Given(ffn, baseModel.FfnDim),
                Arm = result.GetValue(arm)!,
            };
            string deviceName = device.type == DeviceType.CUDA ? $"{device} ({DeviceInfo(device)})" : $"cpu ({Environment.ProcessorCount} threads)";
            var run = new TinyTrainingRun(model, options, result.GetValue(work)!, result.GetValue(output)!, result.GetValue(resume), deviceName, result.GetValue(initFrom))
            {
                Ship = result.GetValue(shipBf16) is int mb and > 0 ? new ShardedWeights(torch.ScalarType.BFloat16, mb * 1024L * 1024) : null,
            };
            if (small && result.GetValue(evaluate) > 0)
                throw new VDiTLensException("--eval judges the single-object clips of the tiny preset; the small preset records its evaluator accuracy in WORK/emergence.csv");
            AnsiConsole.WriteLine(run.Resume
                ? $"train-tiny on {deviceName}: resuming from {run.WorkFolder}, to step {options.Steps}"
                : $"train-tiny on {deviceName}: {(options.Steps == 0 ? "as many steps as fit" : options.Steps.ToString() + " steps")} of {options.BatchSize} clips, float32 (TF32 matmuls on CUDA)");
            var trained = TinyTrainer.Run(run, device, new ConsoleProgress());
            AnsiConsole.WriteLine($"done: {trained.StepsDone} steps, {trained.TrainingSeconds:F0} s of training, final loss {trained.FinalLoss:F4}");
            AnsiConsole.WriteLine($"wrote {trained.OutputFolder}, {trained.LossLogPath}, {trained.LossPlotPath}");
            if (result.GetValue(evaluate) is int per and > 0)
                TinyEvaluationOutput.Run(trained.OutputFolder, compute with { DType = torch.ScalarType.Float32 }, per, 48, 20, 5.0, 48, 16,
                    Path.Combine(run.WorkFolder, "evaluation.json"), Path.Combine(run.WorkFolder, "heldout.png"));
            return 0;
        });
        return command;
    }

    private static string DeviceInfo(torch.Device device)
    {
        int index = device.index < 0 ? 0 : device.index;
        return Runtime.DeviceInfo.Gpus().FirstOrDefault(g => g.Index == index)?.Name ?? "CUDA";
    }

    /// <summary>Prints each report as it arrives, on the training thread (so lines stay in order).</summary>
    private sealed class ConsoleProgress : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            if (p.Note is not null)
            {
                AnsiConsole.WriteLine($"step {p.Step}: {p.Note}");
                return;
            }
            string contrast = p.DirectionContrastLoss is { } ce ? $"  direction CE {ce:F3}" : "";
            AnsiConsole.WriteLine($"step {p.Step,6}/{p.TotalSteps}  loss {p.Loss:F4}{contrast}  lr {p.LearningRate:E2}  {p.StepsPerSecond:F2} it/s  ETA {p.Eta:hh\\:mm\\:ss}");
        }
    }
}
