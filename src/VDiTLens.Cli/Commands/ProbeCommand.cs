using System.CommandLine;
using Spectre.Console;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Probes;

namespace VDiTLens.Cli.Commands;

internal static class ProbeCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var probes = new ProbeOptionsBinder();
        var model = new Option<string>("--model") { Description = "model folder or pipeline folder", Required = true };
        var inputs = new Option<string>("--inputs") { Description = "safetensors file with the forward arguments (fixture keys)", Required = true };
        var outDir = new Option<string>("--out") { Description = "folder for probes.safetensors and summary.json", Required = true };
        var command = new Command("probe", "One forward pass with attention probes; writes <site>.<statistic> tensors and a JSON summary");
        foreach (var o in new Option[] { model, inputs, outDir }) command.Options.Add(o);
        probes.AddTo(command);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var options = common.Resolve(result);
            var probeOptions = probes.Resolve(result);
            using var transformer = TransformerLoader.Load(result.GetValue(model)!, options);
            var data = InputFile.Load(result.GetValue(inputs)!, options);
            using var set = new ProbeSet(transformer.Seam, probeOptions);
            using (torch.no_grad())
                AnsiConsole.Status().Start($"forward with probes ({string.Join(", ", probeOptions.Probes)})", _ => transformer.Forward(data).Dispose());
            string folder = result.GetValue(outDir)!;
            int count = ProbeReport.Write(folder, set);
            AnsiConsole.WriteLine($"wrote {Path.Combine(folder, "probes.safetensors")} ({count} tensors) and summary.json");
            return 0;
        });
        return command;
    }
}
