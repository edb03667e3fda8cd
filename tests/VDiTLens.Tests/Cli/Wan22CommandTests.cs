using System.CommandLine;
using VDiTLens.Cli.Commands;
using VDiTLens.IO;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using Tensor = TorchSharp.torch.Tensor;

namespace VDiTLens.Tests.Cli;

/// <summary><c>generate</c>, <c>forward</c> and <c>experts</c> on the Wan2.2 fixtures, compared with diffusers' outputs.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class Wan22CommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vditlens-wan22-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int Run(Command command, params string[] args) =>
        new RootCommand { command }.Parse(new[] { command.Name }.Concat(args).ToArray())
            .Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });

    private static readonly string[] PromptArgs =
    {
        "--prompt", WanPipelineParityTests.Prompts[0], "--prompt", WanPipelineParityTests.Prompts[1],
        "--negative-prompt", WanPipelineParityTests.NegativePrompt, "--max-sequence-length", "16",
        "--frames", "9", "--steps", "4", "--guidance", "5", "--device", "cpu", "--dtype", "float32",
    };

    private void AssertVideo(string file, Tensor expected, string what)
    {
        using var f = SafeTensorsFile.Open(file);
        using var video = f.Load("video");
        double error = Fixtures.RelativeL2(video, expected);
        output.WriteLine($"{what}: relative L2 {error:E3}");
        Assert.True(error <= 1e-5, $"{what}: relative L2 {error:E3}");
    }

    private string Latents(Tensor init)
    {
        string file = Path.Combine(_dir, "latents.safetensors");
        SafeTensorsWriter.Save(file, new Dictionary<string, Tensor> { ["latents"] = init });
        return file;
    }

    [Fact]
    public void Generate_reproduces_the_two_expert_video()
    {
        var reference = Fixtures.Load("wan22_pipeline/reference.safetensors");
        string outFile = Path.Combine(_dir, "video.safetensors");
        Assert.Equal(0, Run(GenerateCommand.Create(), PromptArgs.Concat(new[]
        {
            "--model", Fixtures.Path("wan22_pipeline", "pipeline"), "--height", "32", "--width", "48",
            "--guidance-scale-2", "3", "--latents", Latents(reference["latents_init"]), "--out", outFile,
        }).ToArray()));
        AssertVideo(outFile, reference["video"], "wan22_pipeline video via generate");
    }

    [Fact]
    public void Generate_reproduces_the_ti2v_video()
    {
        var reference = Fixtures.Load("wan22_ti2v_pipeline/reference.safetensors");
        string outFile = Path.Combine(_dir, "video.safetensors");
        Assert.Equal(0, Run(GenerateCommand.Create(), PromptArgs.Concat(new[]
        {
            "--model", Fixtures.Path("wan22_ti2v_pipeline", "pipeline"), "--height", "32", "--width", "64",
            "--latents", Latents(reference["latents_init"]), "--out", outFile,
        }).ToArray()));
        AssertVideo(outFile, reference["video"], "wan22_ti2v_pipeline video via generate");
    }

    /// <summary>The I2V-A14B layout with zero condition weights computes the text-to-video experts' video (WanImageToVideoPipelineTests).</summary>
    [Fact]
    public void Generate_with_an_image_runs_the_i2v_a14b_layout()
    {
        var reference = Fixtures.Load("wan22_pipeline/reference.safetensors");
        using var folder = new ImageToVideoPipeline(zeroConditionWeights: true);
        string imageFile = Path.Combine(_dir, "image.safetensors"), outFile = Path.Combine(_dir, "video.safetensors");
        SafeTensorsWriter.Save(imageFile, new Dictionary<string, Tensor> { ["image"] = TorchSharp.torch.rand(1, 3, 32, 48) });
        string[] args = PromptArgs.Concat(new[]
        {
            "--model", folder.Path, "--height", "32", "--width", "48", "--guidance-scale-2", "3",
            "--latents", Latents(reference["latents_init"]), "--out", outFile,
        }).ToArray();
        var e = Assert.Throws<VDiTLensException>(() => Run(GenerateCommand.Create(), args));
        Assert.Contains("Image is required", e.Message);
        Assert.Equal(0, Run(GenerateCommand.Create(), args.Concat(new[] { "--image", imageFile }).ToArray()));
        AssertVideo(outFile, reference["video"], "I2V-A14B video via generate --image");
    }

    [Fact]
    public void Forward_reproduces_the_ti2v_transformer_and_the_wan22_vae()
    {
        string transformerOut = Path.Combine(_dir, "t.safetensors"), vaeOut = Path.Combine(_dir, "v.safetensors");
        Assert.Equal(0, Run(ForwardCommand.Create(), "--model", Fixtures.Path("wan22_ti2v"), "--inputs", Fixtures.Path("wan22_ti2v", "inputs_outputs.safetensors"),
            "--output", transformerOut, "--device", "cpu", "--dtype", "float32"));
        Assert.Equal(0, Run(ForwardCommand.Create(), "--model", Fixtures.Path("wan22_vae"), "--inputs", Fixtures.Path("wan22_vae", "inputs_outputs.safetensors"),
            "--output", vaeOut, "--device", "cpu", "--dtype", "float32"));
        var t = Fixtures.Load("wan22_ti2v/inputs_outputs.safetensors");
        var v = Fixtures.Load("wan22_vae/inputs_outputs.safetensors");
        using var tf = SafeTensorsFile.Open(transformerOut);
        using var vf = SafeTensorsFile.Open(vaeOut);
        Assert.True(Fixtures.RelativeL2(tf.Load("output"), t["output"]) <= 1e-5);
        Assert.True(Fixtures.RelativeL2(vf.Load("decode"), v["decode"]) <= 1e-5);
        Assert.True(Fixtures.RelativeL2(vf.Load("encode_mean"), v["encode_mean"]) <= 1e-5);
    }

    [Fact]
    public void Experts_writes_the_per_expert_tables()
    {
        string outDir = Path.Combine(_dir, "experts");
        Assert.Equal(0, Run(ExpertsCommand.Create(), PromptArgs.Concat(new[]
        {
            "--model", Fixtures.Path("wan22_pipeline", "pipeline"), "--height", "32", "--width", "48", "--out", outDir,
        }).ToArray()));
        var rows = File.ReadAllLines(Path.Combine(outDir, "experts.csv"));
        Assert.Equal(5, rows.Length);   // header + 2 layers × 2 experts
        Assert.Contains(rows, r => r.Contains(",transformer_2,"));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(outDir, "expert_pairs.csv")).Length);
    }
}
