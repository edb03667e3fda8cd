using System.CommandLine;
using TorchSharp;
using VDiTLens.Cli.Commands;
using VDiTLens.IO;
using VDiTLens.Pipelines;
using VDiTLens.Reports.Explorer;
using VDiTLens.Runtime;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Cli;

/// <summary>The <c>generate</c> verb on a MochiPipeline folder: picked by model_index.json, Mochi's defaults, same video as the library.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class GenerateMochiCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly TinyMochiPipelineFolder _folder = new();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vditlens-generate-mochi-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Generate_runs_a_mochi_folder_with_mochi_defaults()
    {
        TorchRuntime.Initialise();
        var options = new ComputeOptions(torch.CPU, ScalarType.Float32, 3);
        using var pipeline = MochiPipeline.CreateRandom(_folder.Path, options);
        _folder.SaveWeights(pipeline);
        string outFile = Path.Combine(_dir, "video.safetensors");
        var root = new RootCommand { GenerateCommand.Create() };
        int rc = root.Parse(new[]
        {
            "generate", "--model", _folder.Path, "--prompt", "a red ball", "--steps", "2", "--height", "32", "--width", "48",
            "--frames", "7", "--max-sequence-length", "8", "--seed", "3", "--device", "cpu", "--dtype", "float32", "--out", outFile,
        }).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        Assert.Equal(0, rc);
        using var file = SafeTensorsFile.Open(outFile);
        using var video = file.Load("video");
        // guidance left unset: MochiPipeline's 4.5
        using var expected = pipeline.Generate(new GenerationRequest
        {
            Prompts = new[] { "a red ball" }, GuidanceScale = 4.5, Steps = 2, Height = 32, Width = 48, Frames = 7, MaxSequenceLength = 8, Seed = 3,
        });
        Assert.Equal(new long[] { 1, 7, 32, 48, 3 }, video.shape);
        double error = Fixtures.RelativeL2(video, expected);
        output.WriteLine($"CLI vs library: relative L2 {error:E3}");
        Assert.True(error <= 1e-6, $"{error:E3}");
    }

    [Fact]
    public void Generate_with_explorer_writes_the_joint_attention_explorer_and_the_same_video()
    {
        TorchRuntime.Initialise();
        var options = new ComputeOptions(torch.CPU, ScalarType.Float32, 3);
        using var pipeline = MochiPipeline.CreateRandom(_folder.Path, options);
        _folder.SaveWeights(pipeline);
        string outFile = Path.Combine(_dir, "video.safetensors"), report = Path.Combine(_dir, "report");
        var root = new RootCommand { GenerateCommand.Create() };
        int rc = root.Parse(new[]
        {
            "generate", "--model", _folder.Path, "--prompt", "a red ball", "--steps", "2", "--height", "32", "--width", "48",
            "--frames", "7", "--max-sequence-length", "8", "--seed", "3", "--device", "cpu", "--dtype", "float32", "--out", outFile,
            "--explorer", report, "--explorer-steps", "1", "--explorer-head-rows", "none",
        }).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        Assert.Equal(0, rc);
        Assert.Contains(ExplorerWriter.DataScript, File.ReadAllText(Path.Combine(report, "index.html")));
        using (var saved = SafeTensorsFile.Open(Path.Combine(report, ExplorerWriter.Safetensors)))
        {
            var site = pipeline.Sites.First(s => s.Kind == VDiTLens.Attention.AttentionKind.Joint).Name;
            Assert.True(saved.Contains(ExplorerWriter.RowsKey(site, 1)) && saved.Contains(ExplorerWriter.TextRowsKey(site, 1)));
            Assert.False(saved.Contains(ExplorerWriter.HeadRowsKey(site, 1)), "--explorer-head-rows none keeps no per-head rows");
            Assert.False(saved.Contains(ExplorerWriter.RowsKey(site, 0)), "only --explorer-steps 1 is captured");
        }
        using var file = SafeTensorsFile.Open(outFile);
        using var video = file.Load("video");
        using var expected = pipeline.Generate(new GenerationRequest
        {
            Prompts = new[] { "a red ball" }, GuidanceScale = 4.5, Steps = 2, Height = 32, Width = 48, Frames = 7, MaxSequenceLength = 8, Seed = 3,
        });
        Assert.Equal(0.0, (video - expected).abs().max().item<float>()); // probes read the attention, they do not change it
    }

    [Fact]
    public void Generate_with_the_fixture_latents_reproduces_the_diffusers_mochi_video()
    {
        var reference = Fixtures.Load("mochi_pipeline/reference.safetensors");
        Directory.CreateDirectory(_dir);
        string latents = Path.Combine(_dir, "latents.safetensors");
        SafeTensorsWriter.Save(latents, new Dictionary<string, Tensor> { ["latents"] = reference["latents_init"] });
        string outFile = Path.Combine(_dir, "video.safetensors");
        var args = new List<string> { "generate", "--model", Fixtures.Path("mochi_pipeline", "pipeline") };
        foreach (var p in MochiPipelineParityTests.Prompts) args.AddRange(new[] { "--prompt", p });
        args.AddRange(new[]
        {
            "--negative-prompt", MochiPipelineParityTests.NegativePrompt, "--steps", "4", "--height", "32", "--width", "32", "--frames", "13",
            "--max-sequence-length", "16", "--latents", latents, "--device", "cpu", "--dtype", "float32", "--out", outFile,
        });
        var root = new RootCommand { GenerateCommand.Create() };
        Assert.Equal(0, root.Parse(args.ToArray()).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
        using var file = SafeTensorsFile.Open(outFile);
        using var video = file.Load("video");
        double error = Fixtures.RelativeL2(video, reference["video"]);
        output.WriteLine($"video via CLI (default guidance 4.5): relative L2 {error:E3}");
        Assert.True(error <= 2e-6, $"{error:E3}");
    }

    public void Dispose()
    {
        _folder.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
