using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using VDiTLens.IO;
using VDiTLens.IO.Fuzzing;
using VDiTLens.Runtime;

namespace VDiTLens.Cli.Commands;

/// <summary>
/// Runs the safetensors reader fuzzer for many cases. Failures are saved as files that reproduce them; a case
/// that stops making progress is treated as a hang (saved, exit code 3).
/// </summary>
internal static class FuzzCommand
{
    private static readonly TimeSpan HangAfter = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(2);

    public static Command Create()
    {
        var cases = new Option<long>("--cases") { Description = "number of mutated files to try", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<int>("--seed") { Description = "seed; case i of seed s is the same file on every run", DefaultValueFactory = _ => 0 };
        var file = new Option<string?>("--file") { Description = "a valid .safetensors file to mutate instead of the built-in seeds" };
        var start = new Option<long>("--start") { Description = "first case index (to replay one case: --start I --cases 1)", DefaultValueFactory = _ => 0 };
        var outDir = new Option<string>("--out") { Description = "folder for the bytes of failing cases", DefaultValueFactory = _ => "." };
        var command = new Command("fuzz-safetensors", "Fuzz the safetensors reader: mutated files must load fully or fail with a clean error");
        foreach (var o in new Option[] { cases, seed, file, start, outDir }) command.Options.Add(o);
        command.SetAction(result =>
        {
            TorchRuntime.Initialise();
            long count = result.GetValue(cases);
            if (count < 1) throw new VDiTLensException("--cases: must be at least 1");
            IReadOnlyList<byte[]>? seeds = result.GetValue(file) is { } f ? new[] { ReadSeed(f) } : null;
            string scratch = Path.Combine(Path.GetTempPath(), $"vditlens-fuzz-{Environment.ProcessId}.safetensors");
            try
            {
                var fuzzer = new SafeTensorsFuzzer(result.GetValue(seed), scratch, seeds);
                return Run(fuzzer, result.GetValue(start), count, result.GetValue(outDir)!);
            }
            finally
            {
                File.Delete(scratch);
            }
        });
        return command;
    }

    private static byte[] ReadSeed(string path)
    {
        using (var check = SafeTensorsFile.Open(path))
            foreach (var entry in check.Tensors)
                check.Load(entry.Name).Dispose();
        return File.ReadAllBytes(path);
    }

    private static int Run(SafeTensorsFuzzer fuzzer, long first, long count, string outDir)
    {
        var tally = new FuzzTally();
        long current = first;
        Exception? crashed = null;
        var worker = new Thread(() =>
        {
            try
            {
                for (long i = first; i < first + count; i++)
                {
                    Volatile.Write(ref current, i);
                    var outcome = fuzzer.Run(i);
                    lock (tally) tally.Add(outcome);
                }
            }
            catch (Exception e)
            {
                crashed = e; // the checker itself failed (e.g. the scratch file could not be written)
            }
        }) { IsBackground = true, Name = "fuzz-safetensors" };

        AnsiConsole.WriteLine($"fuzz-safetensors: seed {fuzzer.Seed}, cases {first}..{first + count - 1}");
        var clock = Stopwatch.StartNew();
        worker.Start();
        long lastCase = -1;
        var lastChange = clock.Elapsed;
        var lastReport = TimeSpan.Zero;
        while (!worker.Join(200))
        {
            long now = Volatile.Read(ref current);
            if (now != lastCase) (lastCase, lastChange) = (now, clock.Elapsed);
            else if (clock.Elapsed - lastChange > HangAfter)
            {
                var (bytes, mutations) = fuzzer.Generate(now);
                string saved = Save(outDir, fuzzer.Seed, now, bytes, $"hang: no progress for {HangAfter.TotalSeconds} s\nmutations: {mutations}");
                AnsiConsole.WriteLine($"HANG at case {now} ({mutations}); bytes saved to {saved}");
                return 3;
            }
            if (clock.Elapsed - lastReport >= ProgressEvery)
            {
                lastReport = clock.Elapsed;
                lock (tally) Progress(tally, count, clock.Elapsed);
            }
        }
        if (crashed is not null) throw crashed;
        Progress(tally, count, clock.Elapsed);
        return Summarise(tally, fuzzer.Seed, outDir);
    }

    private static void Progress(FuzzTally tally, long count, TimeSpan elapsed) =>
        AnsiConsole.WriteLine($"  {tally.Cases}/{count}: {tally.ValidLoads} valid, {tally.CleanErrors} clean errors, " +
            $"{tally.FailureCount} failures, {tally.Cases / Math.Max(elapsed.TotalSeconds, 1e-3):F0}/s");

    private static int Summarise(FuzzTally tally, int seed, string outDir)
    {
        var table = new Table().AddColumns("clean error class", "cases");
        foreach (var (kind, n) in tally.ErrorsByClass.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
            table.AddRow(Markup.Escape(kind), n.ToString("N0"));
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"{tally.Cases} cases: {tally.ValidLoads} valid loads, {tally.CleanErrors} clean errors " +
            $"in {tally.ErrorsByClass.Count} classes, {tally.FailureCount} failures");
        if (tally.FailureCount == 0) return 0;
        foreach (var failure in tally.Failures)
        {
            string saved = Save(outDir, seed, failure.Case, failure.Bytes, $"{failure.Detail}\nmutations: {failure.Mutations}");
            AnsiConsole.WriteLine($"FAILURE case {failure.Case} ({failure.Mutations}): {failure.Detail.Split('\n')[0]} -> {saved}");
        }
        if (tally.FailureCount > tally.Failures.Count)
            AnsiConsole.WriteLine($"({tally.FailureCount - tally.Failures.Count} more failures not saved)");
        return 1;
    }

    /// <summary>Saves a failing case's bytes and a note beside them; returns the bytes' path.</summary>
    private static string Save(string outDir, int seed, long caseIndex, byte[] bytes, string note)
    {
        Directory.CreateDirectory(outDir);
        string path = Path.Combine(outDir, $"fuzz-failure-s{seed}-c{caseIndex}.safetensors");
        File.WriteAllBytes(path, bytes);
        File.WriteAllText(path + ".txt", note + "\n");
        return path;
    }
}
