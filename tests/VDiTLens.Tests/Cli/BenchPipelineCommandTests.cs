using System.CommandLine;
using System.Text.Json.Nodes;
using VDiTLens.Cli.Commands;
using VDiTLens.Pipelines;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Cli;

/// <summary>
/// <c>bench-pipeline</c> with each family's tiny preset on the CPU: every stage timed, one time per step, the video's
/// shape, JSON written. The decode refuses a non-finite video (VideoPostprocessor), so a finished run is a finite one.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class BenchPipelineCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vditlens-bench-pipeline-" + Guid.NewGuid().ToString("N"));

    private JsonNode Run(params string[] args)
    {
        string json = Path.Combine(_dir, "bench.json");
        var root = new RootCommand { BenchPipelineCommand.Create() };
        int code = root.Parse(new[] { "bench-pipeline", "--fixtures", Fixtures.Root, "--device", "cpu", "--dtype", "float32", "--json", json }.Concat(args).ToArray())
            .Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        Assert.Equal(0, code);
        return JsonNode.Parse(File.ReadAllText(json))!;
    }

    [Theory]
    [InlineData("wan-tiny", 9, false)]
    [InlineData("cogvideox-tiny", 9, false)]
    [InlineData("mochi-tiny", 13, false)]
    [InlineData("hunyuanvideo-tiny", 9, true)]
    public void Times_every_stage_and_every_step_of_each_family(string preset, int frames, bool embeddedGuidance)
    {
        var result = Run("--preset", preset, "--steps", "3");
        Assert.Equal(PipelinePresets.ByName(preset).PipelineClass, result["PipelineClass"]!.GetValue<string>());
        var steps = result["StepMs"]!.AsArray().Select(s => s!.GetValue<double>()).ToArray();
        Assert.Equal(3, steps.Length);
        Assert.All(steps, s => Assert.True(s > 0));
        double denoise = result["DenoiseMs"]!.GetValue<double>();
        Assert.True(steps.Sum() <= denoise, $"steps {steps.Sum()} ms exceed the denoising stage {denoise} ms");
        Assert.True(result["TextEncodingMs"]!.GetValue<double>() > 0);
        Assert.True(result["DecodeMs"]!.GetValue<double>() > 0);
        Assert.Equal(new long[] { 1, frames, 32, 48, 3 }, result["VideoShape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray());
        Assert.Equal(embeddedGuidance, result["EmbeddedGuidance"]!.GetValue<bool>());
        var memory = result["Memory"]!.AsObject();
        Assert.Equal(new[] { "weights", "warm-up", "text encoding", "denoising", "vae decode" }, memory.Select(kv => kv.Key).ToArray());
        Assert.Null(memory["denoising"]!["PeakAllocatedGiB"]); // no allocator statistics off CUDA
        Assert.All(result["Parameters"]!.AsObject(), kv => Assert.True(kv.Value!.GetValue<long>() > 0, kv.Key));
    }

    [Fact]
    public void Split_guidance_is_recorded()
    {
        var result = Run("--preset", "wan-tiny", "--steps", "2", "--split-guidance");
        Assert.False(result["BatchGuidance"]!.GetValue<bool>());
        Assert.Equal(2, result["StepMs"]!.AsArray().Count);
    }

    [Fact]
    public void Write_folder_writes_the_pipeline_and_its_request_without_running()
    {
        string folder = Path.Combine(_dir, "hunyuan");
        var root = new RootCommand { BenchPipelineCommand.Create() };
        int code = root.Parse(new[] { "bench-pipeline", "--preset", "hunyuanvideo", "--fixtures", Fixtures.Root, "--steps", "5", "--frames", "129", "--write-folder", folder })
            .Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        Assert.Equal(0, code);
        Assert.Equal(HunyuanVideoPipelineFolder.PipelineClass, HunyuanVideoPipelineFolder.Open(folder).Folder.ClassName);
        var request = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, PipelinePreset.RequestFile)))!;
        Assert.Equal((5, 129, 320, true, true), (request["num_inference_steps"]!.GetValue<int>(), request["num_frames"]!.GetValue<int>(),
            request["height"]!.GetValue<int>(), request["embedded_guidance"]!.GetValue<bool>(), request["vae_tiling"]!.GetValue<bool>()));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
