using System.CommandLine;
using Spectre.Console;
using VDiTLens.Demo;
using VDiTLens.Pipelines;

namespace VDiTLens.Cli.Commands;

internal static class DemoCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var explorer = new ExplorerCliOptions();
        var model = new Option<string>("--model") { Description = "pipeline folder", DefaultValueFactory = _ => DemoOptions.DefaultModel };
        var outDir = new Option<string>("--out") { Description = "report folder (index.html opens offline)", DefaultValueFactory = _ => "out/report" };
        var prompts = new Option<string[]>("--prompt") { Description = "prompts (repeatable); default: four procedural prompts, two of them held out of training", AllowMultipleArgumentsPerToken = false };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 20 };
        var guidance = new Option<double>("--guidance") { DefaultValueFactory = _ => 5.0 };
        var command = new Command("demo", "Generate with the embedded model, probe its attention, and write an HTML report");
        foreach (var o in new Option[] { model, outDir, prompts, steps, guidance }) command.Options.Add(o);
        common.AddTo(command);
        explorer.AddTo(command);
        command.SetAction(result =>
        {
            var compute = common.Resolve(result);
            var given = result.GetValue(prompts);
            var options = new DemoOptions
            {
                Model = result.GetValue(model)!, Out = result.GetValue(outDir)!,
                Prompts = given is { Length: > 0 } ? given : DemoOptions.DefaultPrompts,
                Steps = result.GetValue(steps), Guidance = result.GetValue(guidance), Explorer = explorer.Resolve(result),
            };
            if (!Directory.Exists(options.Model))
                throw new VDiTLensException($"{options.Model}: model folder not found (run from the repository root, or pass --model)");
            IReadOnlyList<DemoClip> clips = Array.Empty<DemoClip>();
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("denoising", maxValue: options.Steps);
                    clips = DemoRun.Run(options, compute, new Progress<string>(m => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(m)}[/]")),
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

/// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
