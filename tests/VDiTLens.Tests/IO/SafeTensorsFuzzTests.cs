using System.Diagnostics;
using VDiTLens.IO;
using VDiTLens.IO.Fuzzing;
using VDiTLens.Runtime;

namespace VDiTLens.Tests.IO;

public sealed class SafeTensorsFuzzTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("vditlens-fuzz-").FullName;

    public SafeTensorsFuzzTests() => TorchRuntime.Initialise();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Every_mutated_file_loads_fully_or_fails_with_a_VDiTLensException_naming_it()
    {
        const int cases = 3000;
        var fuzzer = new SafeTensorsFuzzer(seed: 7, Path.Combine(_folder, "case.safetensors"));
        var tally = new FuzzTally();
        var clock = Stopwatch.StartNew();
        var run = Task.Run(() =>
        {
            for (long i = 0; i < cases; i++) tally.Add(fuzzer.Run(i));
        });
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(120)));
        Assert.True(finished == run, $"fuzz run hung after {tally.Cases} cases");
        await run;

        string failures = string.Join("\n", tally.Failures.Select(f =>
            $"case {f.Case} ({f.Mutations}, {f.Bytes.Length} bytes): {f.Detail.Split('\n')[0]}"));
        Assert.True(tally.FailureCount == 0, $"{tally.FailureCount} failures in {clock.Elapsed.TotalSeconds:F1} s:\n{failures}");
        Assert.Equal(cases, tally.Cases);
        // The run must exercise both outcomes and many distinct checks, or it proves nothing.
        Assert.InRange(tally.ValidLoads, 100, cases - 1000);
        Assert.True(tally.ErrorsByClass.Count >= 15,
            "too few distinct errors: " + string.Join(" | ", tally.ErrorsByClass.Keys));
    }

    [Fact]
    public void Cases_are_reproducible_from_seed_and_index()
    {
        var a = new SafeTensorsFuzzer(seed: 11, Path.Combine(_folder, "a.safetensors"));
        var b = new SafeTensorsFuzzer(seed: 11, Path.Combine(_folder, "b.safetensors"));
        var c = new SafeTensorsFuzzer(seed: 12, Path.Combine(_folder, "c.safetensors"));
        for (long i = 0; i < 50; i++) Assert.Equal(a.Generate(i).Bytes, b.Generate(i).Bytes);
        Assert.Contains(Enumerable.Range(0, 50), i => !a.Generate(i).Bytes.AsSpan().SequenceEqual(c.Generate(i).Bytes));
    }

    [Fact]
    public void Built_in_seeds_are_valid_files()
    {
        var fuzzer = new SafeTensorsFuzzer(seed: 0, Path.Combine(_folder, "seed.safetensors"));
        foreach (var seed in FuzzSeeds.BuiltIn())
        {
            var outcome = fuzzer.Check(0, seed, "none");
            Assert.True(outcome.Verdict == FuzzVerdict.ValidLoad, outcome.Detail);
        }
    }

    [Fact]
    public void Checker_reports_a_reader_that_allocates_by_a_lying_number_as_a_failure()
    {
        // The allocation bound must be tight enough to catch a reader that trusts a header length field.
        Assert.True(SafeTensorsFuzzer.AllocationLimit(4096) < 4L << 20);
        var fuzzer = new SafeTensorsFuzzer(seed: 0, Path.Combine(_folder, "x.safetensors"));
        var outcome = fuzzer.Check(0, new byte[] { 1, 2, 3 }, "none");
        Assert.Equal(FuzzVerdict.CleanError, outcome.Verdict);
    }
}
