using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using VDiTLens.Benchmarks;
using VDiTLens.Runtime;
using VDiTLens.Attention;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens bench-sparse</c>: gather-based block-sparse attention vs dense SDPA at one shape over densities.</summary>
internal static class BenchSparseCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var shape = new Option<string>("--shape") { Description = "B,H,L,D of q, k and v (default: Wan2.1-1.3B at 480p)", DefaultValueFactory = _ => string.Join(",", BlockSparseBenchmark.WanShape) };
        var block = new Option<int>("--block") { Description = "key block size in tokens; 120 divides Wan's 32760 tokens (no padding mask)", DefaultValueFactory = _ => 120 };
        var queryBlocks = new Option<string?>("--query-blocks") { Description = "comma list of query tile sizes in tokens, each timed (default: the key block size)" };
        var densities = new Option<string>("--densities") { Description = "comma list of kept-block fractions", DefaultValueFactory = _ => "0.05,0.1,0.15,0.2,0.3,0.5" };
        var steps = new Option<int>("--generation-steps") { Description = "also run a dense and a sparse generation of this many steps (0: none)", DefaultValueFactory = _ => 0 };
        var preset = new Option<string>("--preset") { Description = "model of the generation (random weights, full size): " + string.Join(", ", BenchmarkPreset.Names.Where(n => n.StartsWith("wan"))), DefaultValueFactory = _ => "wan-1.3b" };
        var sparsity = new Option<double>("--generation-sparsity") { Description = "fraction of key blocks dropped in every self-attention call of the sparse generation", DefaultValueFactory = _ => 0.85 };
        var generationQueryBlock = new Option<int>("--generation-query-block") { Description = "query tile of the sparse generation in tokens", DefaultValueFactory = _ => 840 };
        var repeats = new Option<int>("--repeats") { DefaultValueFactory = _ => 5 };
        var memory = new Option<double>("--memory-gb") { Description = "budget of gathered key/value tiles per chunk of query blocks", DefaultValueFactory = _ => 8 };
        var json = new Option<string>("--json") { Description = "write results here", DefaultValueFactory = _ => "out/bench-sparse.json" };
        var command = new Command("bench-sparse", "Time block-sparse attention (gathered tiles + batched SDPA) against dense SDPA over densities, and optionally a sparse against a dense generation");
        foreach (var o in new Option[] { shape, block, queryBlocks, densities, repeats, memory, json, steps, preset, sparsity, generationQueryBlock }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var options = common.Resolve(result);
            var dims = Numbers(result.GetValue(shape)!, "--shape").Select(x => (long)x).ToArray();
            var levels = Numbers(result.GetValue(densities)!, "--densities");
            int b = result.GetValue(block);
            if (b < 1) throw new VDiTLensException("--block must be at least 1");
            var tiles = result.GetValue(queryBlocks) is { } list ? Numbers(list, "--query-blocks").Select(x => (int)x).ToArray() : new[] { b };
            var bench = new BlockSparseBenchmark(options.Device, options.DType, dims, b, tiles, (long)(result.GetValue(memory) * (1L << 30)));
            AnsiConsole.WriteLine($"[{string.Join(", ", dims)}] {ComputeOptions.NameOf(options.DType)} on {options.Device}, key blocks of {b}, query tiles of {string.Join(", ", tiles)}");
            var timings = bench.Run(levels, result.GetValue(repeats), line => AnsiConsole.WriteLine(line));
            var table = new Table().AddColumns("query tile", "target", "density", "kept/key blocks", "dense ms", "sparse ms", "gather ms", "speed-up", "ideal", "masked", "error", "dense error");
            foreach (var t in timings)
                table.AddRow(t.QueryBlock.ToString(), t.TargetDensity.ToString("F2"), t.Density.ToString("F3"), $"{t.KeptBlocks}/{t.KeyBlocks}", t.DenseMs.ToString("F2"), t.SparseMs.ToString("F2"),
                    t.GatherMs.ToString("F2"), t.Speedup.ToString("F2"), t.IdealSpeedup.ToString("F1"), t.Masked ? "yes" : "no", t.SparseError.ToString("E2"), t.DenseError.ToString("E2"));
            AnsiConsole.Write(table);
            var selectionBench = new BlockSelectionBenchmark(options.Device, options.DType, dims);
            var selections = tiles.Select(t => selectionBench.Run(t, b, result.GetValue(sparsity), result.GetValue(repeats))).ToArray();
            var selectionTable = new Table().AddColumns("query tile", "kept/key blocks", "previous ms", "current ms", "pooling ms", "stable sort ms", "topk ms", "speed-up", "same blocks");
            foreach (var s in selections)
                selectionTable.AddRow(s.QueryBlock.ToString(), $"{s.Keep}/{BlockSparseLayoutBlocks(dims[2], b)}", s.PreviousMs.ToString("F3"), s.CurrentMs.ToString("F3"), s.PoolMs.ToString("F3"),
                    s.SortMs.ToString("F3"), s.TopKMs.ToString("F3"), s.Speedup.ToString("F2"), s.SameBlocks.ToString("F4"));
            AnsiConsole.WriteLine($"block selection per call (sparsity {result.GetValue(sparsity)}):");
            AnsiConsole.Write(selectionTable);
            SparseGenerationResult? generation = null;
            if (result.GetValue(steps) > 0)
            {
                var settings = new SparseGenerationSettings(result.GetValue(steps), result.GetValue(sparsity), b, result.GetValue(generationQueryBlock));
                var p = BenchmarkPreset.ByName(result.GetValue(preset)!);
                AnsiConsole.WriteLine($"generation: {p.Name} ({p.Resolution}), random weights, {settings.Steps} steps, block_topk sparsity {settings.Sparsity} on self-attention (query tiles {settings.QueryBlock}, key blocks {b})");
                generation = new SparseGenerationBenchmark(p, options).Run(settings, line => AnsiConsole.WriteLine(line));
                AnsiConsole.WriteLine($"generation: dense {generation.DenseMs:F0} ms, sparse {generation.SparseMs:F0} ms ({generation.Speedup:F2}×), " +
                                      $"latent PSNR {generation.LatentPsnrDb:F2} dB, latent relative L2 {generation.LatentRelativeL2:F4}, density {generation.Density:F3}");
            }
            string path = result.GetValue(json)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllText(path, JsonSerializer.Serialize(new
            {
                shape = dims, dtype = ComputeOptions.NameOf(options.DType), device = options.Device.ToString(), block = b, query_blocks = tiles,
                gpu = DeviceInfo(options), timings = timings.Select(t => new
                {
                    target_density = t.TargetDensity, density = t.Density, kept_blocks = t.KeptBlocks, key_blocks = t.KeyBlocks,
                    query_block = t.QueryBlock, dense_ms = t.DenseMs, sparse_ms = t.SparseMs, gather_ms = t.GatherMs, speedup = t.Speedup, ideal_speedup = t.IdealSpeedup,
                    masked = t.Masked, error_vs_masked_float32 = t.SparseError, dense_error_vs_float32 = t.DenseError,
                }),
                selection = selections.Select(s => new
                {
                    query_block = s.QueryBlock, key_block = s.KeyBlock, keep = s.Keep, previous_ms = s.PreviousMs, current_ms = s.CurrentMs,
                    pool_ms = s.PoolMs, stable_sort_ms = s.SortMs, topk_ms = s.TopKMs, speedup = s.Speedup, same_blocks = s.SameBlocks,
                }),
                generation = generation is null ? null : new
                {
                    preset = result.GetValue(preset), steps = generation.Settings.Steps, sparsity = generation.Settings.Sparsity, key_block = b,
                    query_block = generation.Settings.QueryBlock, seed = generation.Settings.Seed, shift = generation.Settings.Shift,
                    dense_step_ms = generation.DenseStepMs, sparse_step_ms = generation.SparseStepMs, dense_ms = generation.DenseMs,
                    sparse_ms = generation.SparseMs, speedup = generation.Speedup, latent_psnr_db = double.IsFinite(generation.LatentPsnrDb) ? generation.LatentPsnrDb : (double?)null,
                    latent_relative_l2 = generation.LatentRelativeL2, density = generation.Density,
                },
            }, new JsonSerializerOptions { WriteIndented = true }));
            AnsiConsole.WriteLine($"wrote {path}");
            return 0;
        });
        return command;
    }

    private static long BlockSparseLayoutBlocks(long length, int block) => VDiTLens.Attention.BlockSparse.BlockSparseLayout.BlocksOf(length, block);

    private static string DeviceInfo(ComputeOptions options) =>
        options.Device.type == TorchSharp.DeviceType.CUDA ? $"cuda:{Math.Max(0, (int)options.Device.index)}" : "cpu";

    private static double[] Numbers(string s, string option) =>
        s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(x => double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw new VDiTLensException($"{option}: '{x}' is not a number"))
            .ToArray();
}
