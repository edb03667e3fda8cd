using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using TorchSharp;
using VDiTLens.Benchmarks;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens bench-pipeline</c>: a whole random-weight text-to-video generation timed by stage.</summary>
internal static class BenchPipelineCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var preset = new Option<string>("--preset") { Description = string.Join(", ", PipelinePresets.Names), DefaultValueFactory = _ => "wan-1.3b" };
        var fixtures = new Option<string>("--fixtures") { Description = "folder the presets' tokenizers are read from (ids do not matter for speed)", DefaultValueFactory = _ => Path.Combine("tests", "fixtures") };
        var steps = new Option<int?>("--steps") { Description = "denoising steps (default: the preset's)" };
        var guidance = new Option<double?>("--guidance") { Description = "guidance scale (default: the preset's; classifier-free, or HunyuanVideo's embedded guidance)" };
        var height = new Option<int?>("--height") { Description = "video height (default: the preset's)" };
        var width = new Option<int?>("--width") { Description = "video width (default: the preset's)" };
        var frames = new Option<int?>("--frames") { Description = "video frames (default: the preset's)" };
        var split = new Option<bool>("--split-guidance") { Description = "run cond and uncond as two transformer calls per step (as diffusers) instead of one batched call" };
        var json = new Option<string?>("--json") { Description = "write the timings to this JSON file" };
        var writeFolder = new Option<string?>("--write-folder") { Description = "only write the preset's pipeline folder (configs, tokenizers, bench_request.json) here, for scripts/reference/bench_pipeline.py, and exit" };
        var command = new Command("bench-pipeline", "Time a whole text-to-video generation (text encoding, denoising, VAE decode) with random weights built from a checkpoint's configs");
        foreach (var o in new Option[] { preset, fixtures, steps, guidance, height, width, frames, split, json, writeFolder }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var p = PipelinePresets.ByName(result.GetValue(preset)!);
            p = p with
            {
                Steps = result.GetValue(steps) ?? p.Steps,
                GuidanceScale = result.GetValue(guidance) ?? p.GuidanceScale,
                Height = result.GetValue(height) ?? p.Height,
                Width = result.GetValue(width) ?? p.Width,
                Frames = result.GetValue(frames) ?? p.Frames,
            };
            if (result.GetValue(writeFolder) is { } folder)
            {
                p.WriteFolder(folder, result.GetValue(fixtures)!);
                AnsiConsole.WriteLine($"{p.Name}: pipeline folder written to {folder}");
                return 0;
            }
            var options = common.Resolve(result);
            int gpu = options.Device.index < 0 ? 0 : options.Device.index;
            Func<double?> memory = options.Device.type == DeviceType.CUDA ? () => GpuMemory.UsedGiB(gpu) : () => null;
            string guidanceKind = p.EmbeddedGuidance ? "embedded" : result.GetValue(split) ? "classifier-free, two calls" : "classifier-free, batched";
            AnsiConsole.WriteLine($"{p.Name} ({p.PipelineClass}): {p.Height}×{p.Width}, {p.Frames} frames, {p.Steps} steps, guidance {p.GuidanceScale} ({guidanceKind}), " +
                $"{ComputeOptions.NameOf(options.DType)} on {options.Device}");
            var timing = PipelineBenchmark.Run(p, result.GetValue(fixtures)!, options, !result.GetValue(split), memory, line => AnsiConsole.WriteLine(line));

            var table = new Table().AddColumns("stage", "ms", "driver GiB over baseline", "peak allocated GiB", "peak reserved GiB");
            string Gib(double? v) => v is { } x ? x.ToString("F2") : "n/a";
            void Row(string label, string ms, string stage)
            {
                var m = timing.Memory.TryGetValue(stage, out var s) ? s : new StageMemory(null, null, null);
                table.AddRow(label, ms, Gib(m.DriverGiB), Gib(m.PeakAllocatedGiB), Gib(m.PeakReservedGiB));
            }
            Row("weights (random init)", $"{timing.BuildSeconds * 1000:F0}", "weights");
            Row("warm-up", $"{timing.WarmupSeconds * 1000:F0}", "warm-up");
            Row("text encoding", timing.TextEncodingMs.ToString("F1"), "text encoding");
            Row($"denoising ({timing.Steps} steps)", timing.DenoiseMs.ToString("F1"), "denoising");
            table.AddRow("  per step (median)", timing.StepMedianMs.ToString("F1"), "", "", "");
            Row("VAE decode", timing.DecodeMs.ToString("F1"), "vae decode");
            table.AddRow("total (text + denoising + decode)", timing.TotalMs.ToString("F1"), "", "", "");
            AnsiConsole.Write(table);
            if (CudaAllocatorStatistics.Unavailable(options.Device) is { } why) AnsiConsole.WriteLine($"allocator peaks: {why}");
            AnsiConsole.WriteLine($"parameters: {string.Join(", ", timing.Parameters.Select(kv => $"{kv.Key} {kv.Value:N0}"))}; video [{string.Join(", ", timing.VideoShape)}]");
            if (result.GetValue(json) is { } path)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                File.WriteAllText(path, JsonSerializer.Serialize(new
                {
                    timing.Preset, timing.PipelineClass, timing.Device, timing.DType, timing.Height, timing.Width, timing.Frames, timing.Steps,
                    timing.GuidanceScale, timing.EmbeddedGuidance, timing.UseDynamicCfg, timing.BatchGuidance, timing.VaeTiling, timing.MaxSequenceLength,
                    timing.Parameters, timing.BuildSeconds, timing.WarmupSeconds, timing.TextEncodingMs, timing.StepMs, timing.StepMedianMs,
                    timing.DenoiseMs, timing.DecodeMs, timing.TotalMs, timing.VideoShape, timing.Memory,
                }, new JsonSerializerOptions { WriteIndented = true }));
            }
            return 0;
        });
        return command;
    }
}
