using System.CommandLine;
using Spectre.Console;
using VDiTLens.Cli.Options;
using VDiTLens.Cli.Progress;
using VDiTLens.Reports;
using VDiTLens.Studies;
using VDiTLens.Studies.Retraining;
using VDiTLens.Studies.Sinks;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens retrain</c>: re-initialise blocks and distil them from the original model, then compare sinks and sparsity sensitivity.</summary>
internal static class RetrainCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions("WanPipeline folder, the teacher (retrain needs Wan's block hooks: other pipeline classes are refused)", outDefault: "out/retrain");
        study.Out.Description = "work folder: pool, checkpoint/, pipeline/ (resumes when it holds a checkpoint)";
        var prompts = new PromptOptions(defaultCount: 8);
        var blocks = ListOption.Ints("--blocks", "blocks to re-initialise and train (comma list)");
        blocks.Required = true;
        var scope = new Option<string>("--scope") { Description = "block (whole blocks) or attention (self-attention only)", DefaultValueFactory = _ => "block" };
        var target = new Option<string>("--target") { Description = "block (each block's output) or final (the model output)", DefaultValueFactory = _ => "block" };
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
        foreach (var o in new Option[] { blocks, scope, target, trainSteps, lr, weightDecay, checkpointEvery, poolSeeds, sparsify, ratio, reportDir })
            command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(r =>
        {
            var compute = common.Resolve(r);
            var (given, specs) = StudyPrompts.Of(prompts.Given(r), prompts.CountOf(r));
            string model = study.ModelPath(r);
            using var teacher = StudyDefaults.LoadWan(model, compute, "retrain", "it re-initialises and distils Wan blocks through their block hooks");
            var sizes = study.Resolve(r, StudyDefaults.For(teacher, model));
            var options = new RetrainOptions
            {
                Blocks = r.GetValue(blocks)!,
                Scope = r.GetValue(scope) switch { "block" => RetrainScope.Block, "attention" => RetrainScope.Attention, var s => throw new VDiTLensException($"--scope '{s}': use block or attention") },
                Target = r.GetValue(target) switch { "block" => DistillationTarget.BlockOutputs, "final" => DistillationTarget.FinalOutput, var s => throw new VDiTLensException($"--target '{s}': use block or final") },
                TrainingSteps = r.GetValue(trainSteps), LearningRate = r.GetValue(lr), WeightDecay = r.GetValue(weightDecay),
                CheckpointEvery = r.GetValue(checkpointEvery), Seed = compute.Seed, Prompts = given, PoolSeeds = r.GetValue(poolSeeds),
                GenerationSteps = sizes.Steps, GuidanceScale = sizes.GuidanceScale, Frames = sizes.Frames, Height = sizes.Height,
                Width = sizes.Width, MaxSequenceLength = sizes.MaxSequenceLength,
            };
            var compare = new SinkStudyOptions
            {
                Template = study.Request(r, sizes),
                Prompts = given.Take(4).ToArray(), Specs = specs.Take(4).ToArray(), Seeds = new[] { compute.Seed + 7 },
                Criteria = new SinkCriteria(r.GetValue(ratio)), Sparsify = r.GetValue(sparsify),
            };
            var report = new HtmlReport(r.GetValue(reportDir)!);
            var outcome = StageProgress.Run(progress => RetrainStudy.Run(teacher, options, compare, r.GetValue(study.Out)!, report, compute, progress));
            foreach (var row in outcome.Rows) AnsiConsole.WriteLine(string.Join("  ", row));
            AnsiConsole.WriteLine($"wrote {outcome.StudentFolder} and the retrain section of {Path.Combine(report.Folder, "index.html")}");
            return 0;
        });
        return command;
    }
}
