using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Benchmarks;
using VDiTLens.Runtime;
using VDiTLens.Runtime.Cuda;

namespace VDiTLens.Cli.Commands;

internal static class BenchOpsCommand
{
    private const double Tolerance = 1e-2;

    public static Command Create()
    {
        var common = new CommonOptions();
        var preset = new Option<string>("--preset") { Description = "wan-1.3b or wan-14b", DefaultValueFactory = _ => "wan-1.3b" };
        var frames = new Option<int>("--frames") { Description = "latent frames", DefaultValueFactory = _ => 21 };
        var height = new Option<int>("--height") { Description = "latent height", DefaultValueFactory = _ => 60 };
        var width = new Option<int>("--width") { Description = "latent width", DefaultValueFactory = _ => 104 };
        var text = new Option<int>("--text") { Description = "text tokens", DefaultValueFactory = _ => 512 };
        var repeats = new Option<int>("--repeats") { DefaultValueFactory = _ => 7 };
        var json = new Option<string?>("--json") { Description = "write results to this JSON file" };
        var check = new Option<bool>("--check") { Description = "only check every CUDA kernel against its reference path (bf16 and fp16): max abs/rel error, PASS/FAIL" };
        var selection = new Option<bool>("--selection") { Description = "only time the bottom-k selection (kernel, kthvalue, topk, full sort) at one attention call's size" };
        var heads = new Option<long>("--heads") { Description = "with --selection: heads per call", DefaultValueFactory = _ => 24 };
        var keys = new Option<long>("--keys") { Description = "with --selection: keys (= query rows per head)", DefaultValueFactory = _ => 44776 };
        var chunkRows = new Option<long>("--chunk-rows") { Description = "with --selection: rows per chunk", DefaultValueFactory = _ => 5597 };
        var command = new Command("bench-ops", "Time each element-wise stage of a Wan block (unfused and fused) and check the fused kernels");
        foreach (var o in new Option[] { preset, frames, height, width, text, repeats, json, check, selection, heads, keys, chunkRows }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var options = common.Resolve(result);
            if (result.GetValue(check)) return CheckKernels(options, result.GetValue(json));
            if (result.GetValue(selection))
                return TimeSelection(options, result.GetValue(heads), result.GetValue(keys), result.GetValue(chunkRows), result.GetValue(repeats), result.GetValue(json));
            var config = ElementwiseBenchmark.Preset(result.GetValue(preset)!);
            var p = config.patch_size;
            var grid = new VideoGrid(result.GetValue(frames) / p[0], result.GetValue(height) / p[1], result.GetValue(width) / p[2]);
            string? unavailable = options.Device.type == DeviceType.CUDA ? KernelCache.Unavailable(options.Device.index < 0 ? 0 : options.Device.index) : "not on CUDA";
            AnsiConsole.MarkupLine(Markup.Escape($"{result.GetValue(preset)}: {grid.Count} tokens × {config.InnerDim}, {ComputeOptions.NameOf(options.DType)} on {options.Device}; fused kernels: {unavailable ?? "available"}"));
            using var bench = new ElementwiseBenchmark(config, options, grid, result.GetValue(text));
            var checks = bench.Check();
            var model = ElementwiseBenchmark.CheckModel(options);
            var timings = bench.Time(result.GetValue(repeats), 10);

            var t = new Table().AddColumns("stage", "path", "ms", "GB moved (min)", "GB/s");
            foreach (var s in timings)
                t.AddRow(Markup.Escape(s.Stage), Markup.Escape(s.Path), s.MedianMs.ToString("F3"), s.GigabytesMoved.ToString("F3"),
                    s.GigabytesMoved > 0 ? (s.GigabytesMoved / (s.MedianMs * 1e-3)).ToString("F0") : "");
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 150);
            AnsiConsole.Write(t);
            var c = new Table().AddColumns("fused op vs reference", "relative L2", "all written", "verdict");
            bool ok = true;
            foreach (var k in checks)
            {
                bool pass = k.AllWritten && k.RelativeError <= Tolerance;
                ok &= pass;
                c.AddRow(Markup.Escape(k.Op), k.RelativeError.ToString("E2"), k.AllWritten ? "yes" : "NO", pass ? "pass" : "FAIL");
            }
            c.AddRow("2-layer Wan: fused vs unfused", model.FusedVsUnfused.ToString("E2"), "", model.FusedVsUnfused <= 2 * Tolerance ? "pass" : "FAIL");
            c.AddRow("2-layer Wan: unfused vs float32", model.UnfusedVsFloat32.ToString("E2"), "", "");
            c.AddRow("2-layer Wan: fused vs float32", model.FusedVsFloat32.ToString("E2"), "", "");
            ok &= model.FusedVsUnfused <= 2 * Tolerance;
            AnsiConsole.Write(c);
            if (result.GetValue(json) is { } path)
                File.WriteAllText(path, JsonSerializer.Serialize(new
                {
                    preset = result.GetValue(preset), tokens = grid.Count, dtype = ComputeOptions.NameOf(options.DType), device = options.Device.ToString(),
                    fused_unavailable = unavailable, timings, checks, model_check = new { fused_vs_unfused = model.FusedVsUnfused, unfused_vs_float32 = model.UnfusedVsFloat32, fused_vs_float32 = model.FusedVsFloat32 },
                }, new JsonSerializerOptions { WriteIndented = true, IncludeFields = true }));
            return ok ? 0 : 1;
        });
        return command;
    }

    private static int TimeSelection(ComputeOptions options, long heads, long keys, long chunkRows, int repeats, string? json)
    {
        var t = new RowSelectionBenchmark(options.Device).Run(heads, keys, Math.Min(chunkRows, heads * keys), 0.5, repeats);
        AnsiConsole.WriteLine($"bottom-k selection, {heads} heads × {keys} × {keys} float32 per call, {t.Chunks} chunks of {t.ChunkRows} rows, m = ⌊0.5·{keys}⌋ on {options.Device} ({t.KernelPath}):");
        var table = new Table().AddColumns("path", "ms per chunk", "ms per call");
        table.AddRow(Markup.Escape($"RowSelection ({t.KernelPath})"), t.KernelMs.ToString("F3"), $"{t.CallMs:F1} (measured)");
        table.AddRow("kthvalue + ties (reference, one m)", t.KthValueMs.ToString("F3"), (t.KthValueMs * t.Chunks).ToString("F1"));
        table.AddRow("topk + ties (reference, m per row)", t.TopKMs.ToString("F3"), (t.TopKMs * t.Chunks).ToString("F1"));
        table.AddRow("stable sort + ranks", t.SortMs.ToString("F3"), (t.SortMs * t.Chunks).ToString("F1"));
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"mask entries differing from the sort: {t.Mismatches}");
        if (json is not null) File.WriteAllText(json, JsonSerializer.Serialize(t, new JsonSerializerOptions { WriteIndented = true }));
        return t.Mismatches == 0 ? 0 : 1;
    }

    private static int CheckKernels(ComputeOptions options, string? json)
    {
        string? unavailable = options.Device.type == DeviceType.CUDA ? KernelCache.Unavailable(options.Device.index < 0 ? 0 : options.Device.index) : "not on CUDA";
        AnsiConsole.WriteLine($"kernel check on {options.Device}: kernels {unavailable ?? "available"}; "
            + $"{KernelCompiler.FailKernelVariable}={Environment.GetEnvironmentVariable(KernelCompiler.FailKernelVariable) ?? "(unset)"}, "
            + $"VDITLENS_CUDA_SYNC={(CudaDriver.SynchronizeAfterLaunch ? "1" : "(unset)")}");
        var results = KernelCheck.Run(options);
        var t = new Table().AddColumns("check", "kernel variant", "path", "max abs", "max rel", "rel L2", "verdict");
        foreach (var r in results)
            t.AddRow(Markup.Escape(r.Check), Markup.Escape(r.Variant), Markup.Escape(r.Path), r.MaxAbs.ToString("E2"), r.MaxRel.ToString("E2"),
                r.RelativeL2.ToString("E2"), r.Pass ? "PASS" : "FAIL");
        AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 200);
        AnsiConsole.Write(t);
        foreach (var f in KernelCache.Failures)
            AnsiConsole.WriteLine(Markup.Escape($"kernel {f.Variant} could not run on cuda:{f.Device}: {KernelCache.FirstLine(f.Reason)}"));
        int failed = results.Count(r => !r.Pass);
        AnsiConsole.WriteLine($"{results.Count - failed} of {results.Count} kernel checks PASS{(failed > 0 ? $", {failed} FAIL" : "")}");
        var allocator = AllocatorCheck.Run(options.Device);
        AnsiConsole.WriteLine(allocator.Unavailable is { } why ? $"allocator statistics: unavailable: {why}"
            : $"allocator statistics, fixed allocation pattern: peak allocated over baseline {allocator.PeakAllocatedOverBaseline} bytes, peak reserved over baseline {allocator.PeakReservedOverBaseline} bytes");
        if (json is not null)
            File.WriteAllText(json, JsonSerializer.Serialize(new { device = options.Device.ToString(), kernels_unavailable = unavailable, results, failures = KernelCache.Failures, allocator },
                new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        return failed == 0 ? 0 : 1;
    }
}
