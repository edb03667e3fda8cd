using System.CommandLine;
using System.Text.Json.Nodes;
using VDiTLens.Cli.Commands;

namespace VDiTLens.Tests.Cli;

/// <summary><c>bench-sparse</c> at a tiny shape on the CPU: one timing per density, measured densities near the targets, JSON written.</summary>
[Collection(VDiTLens.Tests.TestSupport.ConsoleCollection.Name)]
public sealed class BenchSparseCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vditlens-bench-sparse-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Writes_one_timing_per_density_with_the_measured_density()
    {
        string json = Path.Combine(_dir, "bench.json");
        var root = new RootCommand { BenchSparseCommand.Create() };
        int code = root.Parse(new[] { "bench-sparse", "--shape", "1,2,100,16", "--block", "16", "--densities", "0.25,0.5", "--repeats", "1",
            "--device", "cpu", "--dtype", "float32", "--json", json }).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        Assert.Equal(0, code);
        var timings = JsonNode.Parse(File.ReadAllText(json))!["timings"]!.AsArray();
        Assert.Equal(2, timings.Count);
        // 7 key blocks of 16 (the last holds 4 tokens): round(0.25·7) = 2 and round(0.5·7) = 4 kept blocks
        Assert.Equal(new long[] { 2, 4 }, timings.Select(t => t!["kept_blocks"]!.GetValue<long>()).ToArray());
        Assert.All(timings, t => Assert.True(t!["masked"]!.GetValue<bool>()));
        Assert.All(timings, t => Assert.True(t!["sparse_ms"]!.GetValue<double>() > 0));
        // block selection timed against the previous implementation: the same blocks on float32 inputs
        var selection = JsonNode.Parse(File.ReadAllText(json))!["selection"]!.AsArray().Single()!;
        Assert.Equal(1.0, selection["same_blocks"]!.GetValue<double>());
        Assert.True(selection["current_ms"]!.GetValue<double>() > 0);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
