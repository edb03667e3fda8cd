using System.CommandLine;
using VDiTLens.Cli.Commands;
using VDiTLens.IO;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Cli;

/// <summary><c>generate</c> on the cogvideox_pipeline fixture: dispatch on model_index.json, the reference video through the CLI.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class CogVideoXGenerateCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vditlens-generate-cog-" + Guid.NewGuid().ToString("N"));

    private static int Run(params string[] args)
    {
        var root = new RootCommand { GenerateCommand.Create() };
        return root.Parse(new[] { "generate" }.Concat(args).ToArray()).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    [Fact]
    public void Safetensors_output_with_reference_latents_reproduces_the_diffusers_video()
    {
        var reference = Fixtures.Load("cogvideox_pipeline/reference.safetensors");
        Directory.CreateDirectory(_dir);
        string latents = Path.Combine(_dir, "latents.safetensors");
        SafeTensorsWriter.Save(latents, new Dictionary<string, TorchSharp.torch.Tensor> { ["latents"] = reference["latents_init"] });
        string outFile = Path.Combine(_dir, "video.safetensors");
        Assert.Equal(0, Run(
            "--model", Fixtures.Path("cogvideox_pipeline", "pipeline"),
            "--prompt", CogVideoXPipelineParityTests.Prompts[0], "--prompt", CogVideoXPipelineParityTests.Prompts[1],
            "--negative-prompt", CogVideoXPipelineParityTests.NegativePrompt,
            "--height", "32", "--width", "48", "--frames", "9", "--max-sequence-length", "16",
            "--steps", "4", "--dynamic-cfg", "--latents", latents, "--device", "cpu", "--dtype", "float32", "--out", outFile));
        using var file = SafeTensorsFile.Open(outFile);
        using var video = file.Load("video");
        double error = Fixtures.RelativeL2(video, reference["video"]);
        output.WriteLine($"video via CLI (guidance from the CogVideoX default, 6): relative L2 {error:E3}");
        Assert.True(error <= 1e-6, $"video via CLI: relative L2 {error:E3}");
    }

    [Fact]
    public void Unsupported_pipeline_class_names_the_supported_ones()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "model_index.json"), """{"_class_name":"LattePipeline"}""");
        var e = Assert.Throws<VDiTLensException>(() => Run("--model", _dir, "--prompt", "x", "--out", Path.Combine(_dir, "v.gif")));
        Assert.Contains("LattePipeline", e.Message);
        Assert.Contains("WanPipeline, WanImageToVideoPipeline, CogVideoXPipeline", e.Message);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
