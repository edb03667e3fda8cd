using System.CommandLine;
using Spectre.Console;
using VDiTLens.Cli.Progress;
using VDiTLens.Demo;
using VDiTLens.Pipelines;

namespace VDiTLens.Cli.Commands;

internal static class DemoCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions("WanPipeline folder");
        study.Out.Description = "report folder (index.html opens offline)";
        var explorer = new ExplorerCliOptions();
        var prompts = new Option<string[]>("--prompt") { Description = "prompts (repeatable); default: four procedural prompts, two of them held out of training", AllowMultipleArgumentsPerToken = false };
        var command = new Command("demo", "Generate with the embedded model, probe its attention, and write an HTML report");
        study.AddTo(command, withImage: false);
        command.Options.Add(prompts);
        common.AddTo(command);
        explorer.AddTo(command);
        command.SetAction(result =>
        {
            var compute = common.Resolve(result);
            string model = study.ModelPath(result);
            if (!Directory.Exists(model))
                throw new VDiTLensException($"--model {model}: folder not found (pass a WanPipeline folder)");
            var sizes = study.Resolve(result, StudyDefaults.TrainedOnProceduralClips(model) ? StudyDefaults.Procedural : GenerationDefaults.Wan);
            var given = result.GetValue(prompts);
            var options = new DemoOptions
            {
                Model = model, Out = result.GetValue(study.Out)!,
                Prompts = given is { Length: > 0 } ? given : DemoOptions.DefaultPrompts,
                Steps = sizes.Steps, Guidance = sizes.GuidanceScale, Frames = sizes.Frames, Height = sizes.Height, Width = sizes.Width,
                MaxSequenceLength = sizes.MaxSequenceLength, Explorer = explorer.Resolve(result),
            };
            var clips = ProgressDisplay.Run(ctx =>
            {
                var task = ctx.AddTask("denoising", maxValue: options.Steps);
                return DemoRun.Run(options, compute, new SynchronousProgress<string>(m => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(m)}[/]")),
                    new SynchronousProgress<GenerationProgress>(p => { task.MaxValue = p.Total; task.Value = p.Completed; }));
            });
            var table = new Table().AddColumns("prompt", "evaluator reads", "match");
            foreach (var c in clips) table.AddRow(Markup.Escape(c.Prompt), Markup.Escape(c.Judged), c.Matches ? "[green]yes[/]" : "[red]no[/]");
            AnsiConsole.Write(table);
            AnsiConsole.WriteLine($"report: {Path.GetFullPath(Path.Combine(options.Out, "index.html"))}");
            return 0;
        });
        return command;
    }
}
