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
        var preset = new Option<string>("--preset") { Description = string.Join(", ", WanPipelinePreset.Names), DefaultValueFactory = _ => "wan-1.3b" };
        var tokenizer = new Option<string>("--tokenizer") { Description = "T5 SentencePiece tokenizer folder (ids do not matter for speed)", DefaultValueFactory = _ => Path.Combine("tests", "fixtures", "t5_tokenizer_spm") };
        var steps = new Option<int?>("--steps") { Description = "denoising steps (default: the preset's, 50 for wan-1.3b)" };
        var guidance = new Option<double>("--guidance") { Description = "classifier-free guidance scale (both branches in one batched call)", DefaultValueFactory = _ => 5.0 };
        var split = new Option<bool>("--split-guidance") { Description = "run cond and uncond as two transformer calls per step (as diffusers) instead of one batched call" };
        var json = new Option<string?>("--json") { Description = "write the timings to this JSON file" };
        var command = new Command("bench-pipeline", "Time a whole text-to-video generation (text encoding, denoising, VAE decode) with random weights built from standard configs");
        foreach (var o in new Option[] { preset, tokenizer, steps, guidance, split, json }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var options = common.Resolve(result);
            var p = WanPipelinePreset.ByName(result.GetValue(preset)!);
            int gpu = options.Device.index < 0 ? 0 : options.Device.index;
            Func<double?> memory = options.Device.type == DeviceType.CUDA ? () => GpuMemory.UsedGiB(gpu) : () => null;
            AnsiConsole.WriteLine($"{p.Name}: {p.Height}×{p.Width}, {p.Frames} frames, {ComputeOptions.NameOf(options.DType)} on {options.Device}, guidance {(result.GetValue(split) ? "in two calls" : "batched")}");
            CudaAllocatorStatistics.ResetPeak(options.Device);
            var timing = PipelineBenchmark.Run(p, result.GetValue(tokenizer)!, options, result.GetValue(steps), result.GetValue(guidance), !result.GetValue(split), memory,
                line => AnsiConsole.WriteLine(line));

            var table = new Table().AddColumns("stage", "ms", "GPU memory after (driver, GiB over baseline)");
            string Mem(string stage) => timing.MemoryGiB.TryGetValue(stage, out var m) && m is { } v ? v.ToString("F2") : "n/a";
            table.AddRow("weights (random init)", $"{timing.BuildSeconds * 1000:F0}", Mem("weights"));
            table.AddRow("text encoding (2 × batch 1)", timing.TextEncodingMs.ToString("F1"), Mem("text encoding"));
            table.AddRow($"denoising ({timing.Steps} steps)", timing.DenoiseMs.ToString("F1"), Mem("denoising"));
            table.AddRow("  per step (median)", timing.StepMedianMs.ToString("F1"), "");
            table.AddRow("VAE decode", timing.DecodeMs.ToString("F1"), Mem("vae decode"));
            table.AddRow("total (text + denoising + decode)", timing.TotalMs.ToString("F1"), "");
            AnsiConsole.Write(table);
            var allocator = CudaAllocatorStatistics.Read(options.Device);
            AnsiConsole.WriteLine($"whole run: {CudaAllocatorStatistics.Describe(options.Device)}");
            AnsiConsole.WriteLine($"parameters: {string.Join(", ", timing.Parameters.Select(kv => $"{kv.Key} {kv.Value:N0}"))}; video [{string.Join(", ", timing.VideoShape)}]");
            if (result.GetValue(json) is { } path)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                File.WriteAllText(path, JsonSerializer.Serialize(new
                {
                    timing.Preset, timing.Device, timing.DType, timing.Height, timing.Width, timing.Frames, timing.Steps, timing.GuidanceScale, timing.BatchGuidance,
                    timing.MaxSequenceLength, timing.Parameters, timing.BuildSeconds, timing.WarmupSeconds, timing.TextEncodingMs, timing.StepMs,
                    timing.StepMedianMs, timing.DenoiseMs, timing.DecodeMs, timing.TotalMs, timing.VideoShape, timing.MemoryGiB,
                    AllocatorPeakAllocatedGiB = allocator?.PeakAllocatedGiB, AllocatorPeakReservedGiB = allocator?.PeakReservedGiB,
                }, new JsonSerializerOptions { WriteIndented = true }));
            }
            return 0;
        });
        return command;
    }
}
