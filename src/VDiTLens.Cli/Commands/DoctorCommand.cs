using System.CommandLine;
using Spectre.Console;
using TorchSharp;
using VDiTLens.Runtime;

namespace VDiTLens.Cli.Commands;

internal static class DoctorCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var command = new Command("doctor", "Report OS, .NET, libtorch, devices and measured matmul/attention throughput");
        common.AddTo(command);
        command.SetAction(result =>
        {
            var options = common.Resolve(result);
            var table = new Table().AddColumns("item", "value");
            table.AddRow("OS", Markup.Escape(DeviceInfo.OperatingSystem));
            table.AddRow(".NET", Markup.Escape(DeviceInfo.DotNet));
            table.AddRow("TorchSharp", DeviceInfo.TorchSharpVersion);
            table.AddRow("libtorch", Markup.Escape(TorchRuntime.Source));
            string? folder = TorchRuntime.Source.StartsWith("external: ") ? TorchRuntime.Source["external: ".Length..] : null;
            table.AddRow("libtorch version", Markup.Escape(DeviceInfo.LibTorchVersion(folder)));
            table.AddRow("CUDA available", torch.cuda.is_available().ToString());
            foreach (var gpu in DeviceInfo.Gpus())
                table.AddRow($"cuda:{gpu.Index}", Markup.Escape($"{gpu.Name}, {gpu.Memory}, compute capability {gpu.ComputeCapability}"));
            table.AddRow("CPU threads", torch.get_num_threads().ToString());
            table.AddRow("chosen device", options.Device.ToString());
            AnsiConsole.Write(table);

            bool gpu0 = options.Device.type == DeviceType.CUDA;
            var timings = new[]
            {
                Microbenchmark.MatMul(options.Device, torch.ScalarType.BFloat16, gpu0 ? 8192 : 512),
                gpu0 ? Microbenchmark.MatMul(options.Device, torch.ScalarType.Float32, 8192) : Microbenchmark.MatMul(options.Device, torch.ScalarType.Float32, 1024),
                Microbenchmark.Attention(options.Device, gpu0 ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32, gpu0 ? 24 : 4, gpu0 ? 32760 : 1024, gpu0 ? 128 : 64),
            };
            var bench = new Table().AddColumns("kernel", "shape", "median ms", "TFLOP/s");
            foreach (var t in timings)
                bench.AddRow(Markup.Escape(t.Name), Markup.Escape(t.Shape), t.MedianMs.ToString("F2"), t.TeraFlops.ToString("F2"));
            AnsiConsole.Write(bench);
            return 0;
        });
        return command;
    }
}
