using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using VDiTLens.Benchmarks;
using VDiTLens.Runtime;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens bench-sparse</c>: gather-based block-sparse attention vs dense SDPA at one shape over densities.</summary>
internal static class BenchSparseCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var shape = new Option<string>("--shape") { Description = "B,H,L,D of q, k and v (default: Wan2.1-1.3B at 480p)", DefaultValueFactory = _ => string.Join(",", BlockSparseBenchmark.WanShape) };
        var block = new Option<int>("--block") { Description = "block size in tokens (queries × keys); 120 divides Wan's 32760 tokens (no padding mask)", DefaultValueFactory = _ => 128 };
        var densities = new Option<string>("--densities") { Description = "comma list of kept-block fractions", DefaultValueFactory = _ => "0.05,0.1,0.2,0.3,0.5" };
        var repeats = new Option<int>("--repeats") { DefaultValueFactory = _ => 5 };
        var memory = new Option<double>("--memory-gb") { Description = "budget of gathered key/value tiles per chunk of query blocks", DefaultValueFactory = _ => 8 };
        var json = new Option<string>("--json") { Description = "write results here", DefaultValueFactory = _ => "out/bench-sparse.json" };
        var command = new Command("bench-sparse", "Time block-sparse attention (gathered tiles + batched SDPA) against dense SDPA over densities");
        foreach (var o in new Option[] { shape, block, densities, repeats, memory, json }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var options = common.Resolve(result);
            var dims = Numbers(result.GetValue(shape)!, "--shape").Select(x => (long)x).ToArray();
            var levels = Numbers(result.GetValue(densities)!, "--densities");
            int b = result.GetValue(block);
            if (b < 1) throw new VDiTLensException("--block must be at least 1");
            var bench = new BlockSparseBenchmark(options.Device, options.DType, dims, b, (long)(result.GetValue(memory) * (1L << 30)));
            AnsiConsole.WriteLine($"[{string.Join(", ", dims)}] {ComputeOptions.NameOf(options.DType)} on {options.Device}, block {b}");
            var timings = bench.Run(levels, result.GetValue(repeats), line => AnsiConsole.WriteLine(line));
            var table = new Table().AddColumns("target", "density", "kept/key blocks", "dense ms", "sparse ms", "gather ms", "speed-up", "ideal", "masked");
            foreach (var t in timings)
                table.AddRow(t.TargetDensity.ToString("F2"), t.Density.ToString("F3"), $"{t.KeptBlocks}/{t.KeyBlocks}", t.DenseMs.ToString("F2"), t.SparseMs.ToString("F2"),
                    t.GatherMs.ToString("F2"), t.Speedup.ToString("F2"), t.IdealSpeedup.ToString("F1"), t.Masked ? "yes" : "no");
            AnsiConsole.Write(table);
            string path = result.GetValue(json)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllText(path, JsonSerializer.Serialize(new
            {
                shape = dims, dtype = ComputeOptions.NameOf(options.DType), device = options.Device.ToString(), block = b,
                gpu = DeviceInfo(options), timings = timings.Select(t => new
                {
                    target_density = t.TargetDensity, density = t.Density, kept_blocks = t.KeptBlocks, key_blocks = t.KeyBlocks,
                    dense_ms = t.DenseMs, sparse_ms = t.SparseMs, gather_ms = t.GatherMs, speedup = t.Speedup, ideal_speedup = t.IdealSpeedup, masked = t.Masked,
                }),
            }, new JsonSerializerOptions { WriteIndented = true }));
            AnsiConsole.WriteLine($"wrote {path}");
            return 0;
        });
        return command;
    }

    private static string DeviceInfo(ComputeOptions options) =>
        options.Device.type == TorchSharp.DeviceType.CUDA ? $"cuda:{Math.Max(0, (int)options.Device.index)}" : "cpu";

    private static double[] Numbers(string s, string option) =>
        s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(x => double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw new VDiTLensException($"{option}: '{x}' is not a number"))
            .ToArray();
}
