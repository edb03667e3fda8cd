using System.CommandLine;
using System.Text.Json.Nodes;
using VDiTLens.Cli.Commands;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Cli;

/// <summary><c>bench-pipeline --preset tiny</c> on the CPU: every stage timed, one time per step, JSON written.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class BenchPipelineCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vditlens-bench-pipeline-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Times_every_stage_and_every_step()
    {
        string json = Path.Combine(_dir, "bench.json");
        var root = new RootCommand { BenchPipelineCommand.Create() };
        int code = root.Parse(new[] { "bench-pipeline", "--preset", "tiny", "--steps", "3", "--split-guidance", "--tokenizer", Fixtures.Path("t5_tokenizer_spm"),
            "--device", "cpu", "--dtype", "float32", "--json", json }).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        Assert.Equal(0, code);
        var result = JsonNode.Parse(File.ReadAllText(json))!;
        var steps = result["StepMs"]!.AsArray().Select(s => s!.GetValue<double>()).ToArray();
        Assert.Equal(3, steps.Length);
        Assert.All(steps, s => Assert.True(s > 0));
        double denoise = result["DenoiseMs"]!.GetValue<double>();
        Assert.True(steps.Sum() <= denoise, $"steps {steps.Sum()} ms exceed the denoising stage {denoise} ms");
        Assert.True(result["TextEncodingMs"]!.GetValue<double>() > 0);
        Assert.True(result["DecodeMs"]!.GetValue<double>() > 0);
        Assert.Equal(new long[] { 1, 9, 32, 48, 3 }, result["VideoShape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray());
        Assert.Null(result["MemoryGiB"]!["denoising"]);
        Assert.False(result["BatchGuidance"]!.GetValue<bool>());
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
