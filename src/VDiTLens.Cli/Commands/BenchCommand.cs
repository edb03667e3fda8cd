using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using Spectre.Console;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Benchmarks;
using VDiTLens.Runtime.Cuda;
using VDiTLens.Probes;
using VDiTLens.Runtime;

namespace VDiTLens.Cli.Commands;

internal static class BenchCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var preset = new Option<string>("--preset") { Description = string.Join(", ", BenchmarkPreset.Names), DefaultValueFactory = _ => "wan-1.3b" };
        var repeats = new Option<int>("--repeats") { DefaultValueFactory = _ => 5 };
        var withProbes = new Option<bool>("--with-probes") { Description = "also time the forward with pooled maps + received mass + entropy/coverage on every site" };
        var strides = Options.ListOption.Ints("--probe-query-strides", "query strides to time the probes with (comma list)", new[] { 1 });
        var coverageStride = new Option<int>("--probe-coverage-stride") { Description = "with --with-probes: top-k coverage on every n-th query (at least the query stride)", DefaultValueFactory = _ => 64 };
        var breakdown = new Option<bool>("--probe-breakdown") { Description = "time the probes' pieces on one self and one cross call of Wan-1.3B size, and check the device paths" };
        var json = new Option<string?>("--json") { Description = "write results to this JSON file" };
        var checkFused = new Option<bool>("--check-fused") { Description = "first compare a 2-layer model with and without the fused kernels against float32 (CogVideoX, Mochi-1, HunyuanVideo)" };
        var plainOnly = new Option<bool>("--plain-only") { Description = "time the plain forward only (not the seam with an inactive probe)" };
        var command = new Command("bench", "Time one full-size transformer forward with random weights (optionally with probes)");
        foreach (var o in new Option[] { preset, repeats, withProbes, strides, coverageStride, breakdown, json, checkFused, plainOnly }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var options = common.Resolve(result);
            int gpu = options.Device.index < 0 ? 0 : options.Device.index;
            double? before = options.Device.type == DeviceType.CUDA ? GpuMemory.UsedGiB(gpu) : null;
            var p = BenchmarkPreset.ByName(result.GetValue(preset)!);
            if (result.GetValue(breakdown)) WriteBreakdown(options, result.GetValue(coverageStride));
            if (result.GetValue(checkFused))
            {
                var check = FusedFamilyCheck.Run(p, options);
                AnsiConsole.WriteLine($"2-layer {p.Name} check: fused vs unfused {check.FusedVsUnfused:E2}, unfused vs float32 {check.UnfusedVsFloat32:E2}, fused vs float32 {check.FusedVsFloat32:E2}");
            }
            using var bench = new TransformerBenchmark(p, options);
            AnsiConsole.WriteLine($"{p.Name}: {p.Resolution}, {ComputeOptions.NameOf(options.DType)} on {options.Device}");
            int n = result.GetValue(repeats);
            CudaAllocatorStatistics.ResetPeak(options.Device);
            var timings = new List<ForwardTiming> { bench.Time("forward", 2, n) };
            var allocator = CudaAllocatorStatistics.Read(options.Device);
            string allocatorLine = CudaAllocatorStatistics.Describe(options.Device);
            double? after = options.Device.type == DeviceType.CUDA ? GpuMemory.UsedGiB(gpu) : null;
            var split = bench.EstimateSplit(timings[0].MedianMs);

            if (!result.GetValue(plainOnly))
                using (bench.Model.Seam.Attach(new InactiveProbe()))
                    timings.Add(bench.Time("forward, seam with an inactive probe", 1, n));
            foreach (var failure in KernelCache.Failures)
                AnsiConsole.WriteLine($"kernel {failure.Variant} could not run on cuda:{failure.Device} (reference used): {failure.Reason}");
            AllocatorStatistics? probedAllocator = null;
            string? probedLine = null;
            if (result.GetValue(withProbes))
            {
                CudaAllocatorStatistics.ResetPeak(options.Device);
                foreach (var stride in result.GetValue(strides)!)
                {
                    var opts = new ProbeOptions { Probes = new[] { "frame", "modality", "mass", "entropy" }, QueryStride = stride, CoverageStride = Math.Max(stride, result.GetValue(coverageStride)), MemoryBudgetBytes = 2L << 30 };
                    using var set = new ProbeSet(bench.Model.Seam, opts);
                    timings.Add(bench.Time($"forward + probes (query stride {stride}, coverage stride {opts.CoverageStride})", 1, Math.Min(n, 3)));
                }
                probedAllocator = CudaAllocatorStatistics.Read(options.Device);
                probedLine = CudaAllocatorStatistics.Describe(options.Device);
            }

            var table = new Table().AddColumns("run", "median ms", "× plain", "all ms");
            foreach (var t in timings)
                table.AddRow(Markup.Escape(t.Label), t.MedianMs.ToString("F1"), (t.MedianMs / timings[0].MedianMs).ToString("F2"), string.Join(" / ", t.AllMs.Select(x => x.ToString("F0"))));
            AnsiConsole.Write(table);
            double? peak = before is null || after is null ? null : after.Value - before.Value;
            AnsiConsole.WriteLine($"GPU memory reserved by the plain forward (driver view): {(peak is null ? "n/a" : peak.Value.ToString("F2") + " GiB")}");
            AnsiConsole.WriteLine($"plain forward, weights included: {allocatorLine}");
            if (probedLine is not null) AnsiConsole.WriteLine($"probed forwards, weights included: {probedLine}");
            if (split is not null)
                AnsiConsole.WriteLine($"split: attention {split.AttentionMs:F1} ms, matrix products {split.MatMulMs:F1} ms, rest {split.RestMs:F1} ms");
            if (result.GetValue(json) is { } path)
                File.WriteAllText(path, JsonSerializer.Serialize(new
                {
                    preset = p.Name, resolution = p.Resolution, dtype = ComputeOptions.NameOf(options.DType), device = options.Device.ToString(),
                    runs = timings, peak_reserved_gib = peak, split,
                    allocator_peak_allocated_gib = allocator?.PeakAllocatedGiB, allocator_peak_reserved_gib = allocator?.PeakReservedGiB,
                    probed_allocator_peak_allocated_gib = probedAllocator?.PeakAllocatedGiB, probed_allocator_peak_reserved_gib = probedAllocator?.PeakReservedGiB,
                }, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
        return command;
    }

    private static void WriteBreakdown(ComputeOptions options, int coverageStride)
    {
        try
        {
            WriteBreakdownTables(options, coverageStride);
        }
        catch (Exception e) when (e is VDiTLensException or ExternalException)
        {
            AnsiConsole.WriteLine($"probe breakdown failed: {e.Message}");
        }
    }

    private static void WriteBreakdownTables(ComputeOptions options, int coverageStride)
    {
        var checks = new Table().AddColumns("device path vs reference", "relative L2");
        foreach (var c in ProbeBenchmark.Check(options.Device, options.DType, coverageStride))
            checks.AddRow(Markup.Escape(c.What), c.RelativeError.ToString("E2"));
        AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 150);
        AnsiConsole.Write(checks);
        var times = new Table().AddColumns("probe piece (one call)", "median ms");
        foreach (var t in ProbeBenchmark.Time(options.Device, options.DType, coverageStride))
            times.AddRow(Markup.Escape(t.What), t.MedianMs.ToString("F2"));
        AnsiConsole.Write(times);
    }

    /// <summary>A probe that accepts no call: measures the seam's dispatch cost alone.</summary>
    private sealed class InactiveProbe : IAttentionProbe
    {
        public bool Accepts(AttentionCall call) => false;
        public void Observe(AttentionCall call, TorchSharp.torch.Tensor q, TorchSharp.torch.Tensor k, TorchSharp.torch.Tensor v, TorchSharp.torch.Tensor output) { }
    }
}
