using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using TorchSharp;
using VDiTLens.Benchmarks;
using VDiTLens.Runtime;

namespace VDiTLens.Cli.Commands;

internal static class BenchCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var preset = new Option<string>("--preset") { Description = "wan-1.3b or wan-14b", DefaultValueFactory = _ => "wan-1.3b" };
        var frames = new Option<int>("--frames") { Description = "latent frames", DefaultValueFactory = _ => 21 };
        var height = new Option<int>("--height") { Description = "latent height", DefaultValueFactory = _ => 60 };
        var width = new Option<int>("--width") { Description = "latent width", DefaultValueFactory = _ => 104 };
        var text = new Option<int>("--text") { Description = "text tokens", DefaultValueFactory = _ => 512 };
        var repeats = new Option<int>("--repeats") { DefaultValueFactory = _ => 5 };
        var json = new Option<string?>("--json") { Description = "write results to this JSON file" };
        var command = new Command("bench", "Time one full-size transformer forward with random weights");
        foreach (var o in new Option[] { preset, frames, height, width, text, repeats, json }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var options = common.Resolve(result);
            double? before = options.Device.type == DeviceType.CUDA ? GpuMemory.UsedGiB(options.Device.index < 0 ? 0 : options.Device.index) : null;
            var config = WanPresets.ByName(result.GetValue(preset)!);
            using var bench = new TransformerBenchmark(config, options, result.GetValue(frames), result.GetValue(height), result.GetValue(width), result.GetValue(text));
            AnsiConsole.MarkupLine($"{result.GetValue(preset)}: {bench.VideoTokens} video tokens, {ComputeOptions.NameOf(options.DType)} on {options.Device}");
            var timing = bench.Time("forward", 2, result.GetValue(repeats));
            double? after = options.Device.type == DeviceType.CUDA ? GpuMemory.UsedGiB(options.Device.index < 0 ? 0 : options.Device.index) : null;
            var split = bench.EstimateSplit(timing.MedianMs);
            var table = new Table().AddColumns("measure", "value");
            table.AddRow("median ms / forward", timing.MedianMs.ToString("F1"));
            table.AddRow("all ms", string.Join(" / ", timing.AllMs.Select(x => x.ToString("F1"))));
            table.AddRow("peak reserved GiB (driver)", before is null || after is null ? "n/a" : (after.Value - before.Value).ToString("F2"));
            table.AddRow("attention ms (isolated SDPA × calls)", split.AttentionMs.ToString("F1"));
            table.AddRow("matrix products ms (isolated GEMMs)", split.MatMulMs.ToString("F1"));
            table.AddRow("rest ms (difference)", split.RestMs.ToString("F1"));
            AnsiConsole.Write(table);
            if (result.GetValue(json) is { } path)
                File.WriteAllText(path, JsonSerializer.Serialize(new
                {
                    preset = result.GetValue(preset), tokens = bench.VideoTokens, dtype = ComputeOptions.NameOf(options.DType),
                    device = options.Device.ToString(), median_ms = timing.MedianMs, all_ms = timing.AllMs,
                    peak_reserved_gib = before is null || after is null ? (double?)null : after.Value - before.Value,
                    attention_ms = split.AttentionMs, matmul_ms = split.MatMulMs, rest_ms = split.RestMs,
                }, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
        return command;
    }
}
