using System.CommandLine;
using Spectre.Console;
using VDiTLens.IO;
using VDiTLens.Runtime;

namespace VDiTLens.Cli.Commands;

internal static class InspectCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "a .safetensors file, an index.json, a model folder or a pipeline folder" };
        var command = new Command("inspect", "List a checkpoint's tensors (name, dtype, shape, bytes), its config and parameter count");
        command.Arguments.Add(path);
        command.SetAction(result =>
        {
            TorchRuntime.Initialise();
            string target = result.GetValue(path)!;
            if (Directory.Exists(target) && PipelineFolder.IsPipeline(target))
            {
                var pipeline = PipelineFolder.Open(target);
                AnsiConsole.MarkupLine($"[bold]pipeline[/] {Markup.Escape(pipeline.ClassName ?? "?")}");
                foreach (var (name, (lib, cls)) in pipeline.Components)
                {
                    AnsiConsole.MarkupLine($"\n[bold]{Markup.Escape(name)}[/] ({Markup.Escape(lib)}.{Markup.Escape(cls)})");
                    string dir = pipeline.ComponentPath(name);
                    if (File.Exists(Path.Combine(dir, "config.json")) && HasWeights(dir)) Describe(dir);
                }
                return 0;
            }
            Describe(target);
            return 0;
        });
        return command;
    }

    private static bool HasWeights(string dir) => Directory.GetFiles(dir, "*.safetensors*").Length > 0;

    private static void Describe(string target)
    {
        if (Directory.Exists(target) && File.Exists(Path.Combine(target, "config.json")))
        {
            var folder = ModelFolder.Open(target);
            AnsiConsole.MarkupLine($"config: class {Markup.Escape(folder.ClassName ?? "?")}");
            AnsiConsole.WriteLine(folder.Config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        }
        using var source = Checkpoint.Open(target);
        var table = new Table().AddColumns("tensor", "dtype", "shape", "bytes");
        long parameters = 0, bytes = 0;
        foreach (var name in source.Names.OrderBy(n => n, StringComparer.Ordinal))
        {
            var e = source.Entry(name);
            table.AddRow(Markup.Escape(name), e.DTypeName, Markup.Escape(e.ShapeText), e.ByteCount.ToString("N0"));
            parameters += e.ElementCount;
            bytes += e.ByteCount;
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{source.Names.Count} tensors, {parameters:N0} parameters, {bytes:N0} bytes ({Markup.Escape(source.Description)})");
    }
}
