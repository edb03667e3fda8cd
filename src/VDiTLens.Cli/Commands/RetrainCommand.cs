using System.CommandLine;
using Spectre.Console;
using VDiTLens.Cli.Options;
using VDiTLens.Cli.Progress;
using VDiTLens.Pipelines;
using VDiTLens.Reports;
using VDiTLens.Studies;
using VDiTLens.Studies.Retraining;
using VDiTLens.Studies.Sinks;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens retrain</c>: re-initialise blocks of any family's transformer and train them (from the original model's block outputs, final output, or its generated data), then compare sinks, sparsity sensitivity and fidelity on held-out prompts.</summary>
internal static class RetrainCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions("pipeline folder of the original model (any supported family)", outDefault: "out/retrain");
        study.Out.Description = "work folder: pool, checkpoint/, pipeline/ (resumes when it holds a checkpoint)";
        var prompts = new PromptOptions(defaultCount: 8);
        var blocks = ListOption.Ints("--blocks", "blocks to re-initialise and train (comma list of indices in forward order; HunyuanVideo: dual-stream blocks, then single-stream)");
        blocks.Required = true;
        var scope = new Option<string>("--scope") { Description = "block (whole blocks) or attention (the block's self- or joint-attention only)", DefaultValueFactory = _ => "block" };
        var target = new Option<string>("--target") { Description = "block (each block's output), final (the model output) or data (the model's denoising objective on its own generated samples)", DefaultValueFactory = _ => "block" };
        var expert = new Option<string>("--expert") { Description = "denoiser retrained: transformer (Wan2.2 A14B: the high-noise expert) or transformer_2 (its low-noise expert); the saved pipeline swaps only that component", DefaultValueFactory = _ => Attention.AttentionRunState.MainExpert };
        var heldOut = new Option<int>("--held-out") { Description = "prompts kept out of the training pool for the before/after measurement (the last ones of the prompt list)", DefaultValueFactory = _ => 2 };
        var trainSteps = new Option<int>("--train-steps") { Description = "optimiser steps", DefaultValueFactory = _ => 500 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 1e-3 };
        var weightDecay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => 0.0 };
        var checkpointEvery = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => 50 };
        var poolSeeds = new Option<int>("--pool-seeds") { DefaultValueFactory = _ => 2 };
        var sparsify = new Option<string>("--compare-sparsify") { Description = "sparsifier of the sensitivity comparison", DefaultValueFactory = _ => "bottom_k:0.5" };
        var ratio = new Option<double>("--ratio") { DefaultValueFactory = _ => 10 };
        var reportDir = new Option<string>("--report") { DefaultValueFactory = _ => "out/report" };
        var command = new Command("retrain", "Re-initialise blocks (or their attention) and distil them from the original model; compare sinks and sparsity sensitivity");
        study.AddTo(command);
        prompts.AddTo(command, withSeeds: false);
        foreach (var o in new Option[] { blocks, scope, target, expert, heldOut, trainSteps, lr, weightDecay, checkpointEvery, poolSeeds, sparsify, ratio, reportDir })
            command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(r =>
        {
            var compute = common.Resolve(r);
            int held = r.GetValue(heldOut);
            var given = prompts.Given(r);
            var (all, specs) = StudyPrompts.Of(given, prompts.CountOf(r) + held);
            if (held < 1 || held >= all.Count)
                throw new VDiTLensException($"--held-out {held}: must be at least 1 and leave at least one of the {all.Count} prompts for training");
            var training = all.Take(all.Count - held).ToArray();
            string model = study.ModelPath(r);
            using var teacher = TextToVideoPipelines.Load(model, compute);
            var sizes = study.Resolve(r, StudyDefaults.For(teacher, model));
            var options = new RetrainOptions
            {
                Blocks = r.GetValue(blocks)!,
                Scope = r.GetValue(scope) switch { "block" => RetrainScope.Block, "attention" => RetrainScope.Attention, var s => throw new VDiTLensException($"--scope '{s}': use block or attention") },
                Target = r.GetValue(target) switch
                {
                    "block" => DistillationTarget.BlockOutputs, "final" => DistillationTarget.FinalOutput, "data" => DistillationTarget.Data,
                    var s => throw new VDiTLensException($"--target '{s}': use block, final or data"),
                },
                Expert = r.GetValue(expert)!, Image = study.FirstFrame(r),
                TrainingSteps = r.GetValue(trainSteps), LearningRate = r.GetValue(lr), WeightDecay = r.GetValue(weightDecay),
                CheckpointEvery = r.GetValue(checkpointEvery), Seed = compute.Seed, Prompts = training, PoolSeeds = r.GetValue(poolSeeds),
                GenerationSteps = sizes.Steps, GuidanceScale = sizes.GuidanceScale, Frames = sizes.Frames, Height = sizes.Height,
                Width = sizes.Width, MaxSequenceLength = sizes.MaxSequenceLength,
            };
            var compare = new SinkStudyOptions
            {
                Template = study.Request(r, sizes),
                Prompts = all.Skip(training.Length).ToArray(), Specs = specs.Skip(training.Length).ToArray(), Seeds = new[] { compute.Seed + 7 },
                Criteria = new SinkCriteria(r.GetValue(ratio)), Sparsify = r.GetValue(sparsify),
            };
            var report = new HtmlReport(r.GetValue(reportDir)!);
            var outcome = StageProgress.Run(progress => RetrainStudy.Run(teacher, options, compare, r.GetValue(study.Out)!, report, compute, progress));
            foreach (var row in outcome.Rows) AnsiConsole.WriteLine(string.Join("  ", row));
            AnsiConsole.WriteLine($"trained on {training.Length} prompt(s), measured on {held} held out; loss: {RetrainStudy.LossName(options.Target)}" +
                (options.Target == DistillationTarget.Data ? $", objective: {teacher.Objective.Name}" : ""));
            AnsiConsole.WriteLine($"wrote {outcome.StudentFolder} and the retrain section of {Path.Combine(report.Folder, "index.html")}");
            return 0;
        });
        return command;
    }
}
