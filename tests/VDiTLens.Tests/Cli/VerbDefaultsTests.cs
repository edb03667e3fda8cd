using VDiTLens.Cli;
using VDiTLens.Cli.Options;
using VDiTLens.IO;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Cli;

/// <summary>
/// Every generating verb run from a folder unrelated to the checkout finds the embedded model and takes its sizes from
/// it (9 frames × 32 × 32); only the step count is cut to keep the runs short.
/// </summary>
[Collection(VDiTLens.Tests.TestSupport.ConsoleCollection.Name)]
public sealed class VerbDefaultsTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vditlens-verbs-").FullName;

    private (int Code, string Out, string Error) RunIn(string folder, params string[] args)
    {
        string previous = Environment.CurrentDirectory;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Environment.CurrentDirectory = folder;
        try
        {
            int code = CliApp.Run(args, stdout, stderr);
            output.WriteLine(stdout.ToString());
            output.WriteLine(stderr.ToString());
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally { Environment.CurrentDirectory = previous; }
    }

    private static readonly string[] Cpu = { "--device", "cpu", "--dtype", "float32" };

    [Fact]
    public void Generate_without_model_or_sizes_makes_the_embedded_models_clip()
    {
        Assert.Equal(0, RunIn(_dir, new[] { "generate", "--prompt", "a red circle moving left", "--steps", "2", "--out", "clip.safetensors" }.Concat(Cpu).ToArray()).Code);
        using var file = SafeTensorsFile.Open(Path.Combine(_dir, "clip.safetensors"));
        using var video = file.Load("video");
        Assert.Equal(new long[] { 1, 9, 32, 32, 3 }, video.shape);
    }

    [Fact]
    public void Diffusers_spellings_are_aliases()
    {
        Assert.Equal(0, RunIn(_dir, new[] { "generate", "--prompt", "a red circle moving left", "--num-inference-steps", "1", "--guidance-scale", "3",
            "--num-frames", "5", "--height", "16", "--width", "24", "--out", "clip.safetensors" }.Concat(Cpu).ToArray()).Code);
        using var file = SafeTensorsFile.Open(Path.Combine(_dir, "clip.safetensors"));
        using var video = file.Load("video");
        Assert.Equal(new long[] { 1, 5, 16, 24, 3 }, video.shape);
    }

    [Theory]
    [InlineData("demo", "demo/contact_sheet.png", "--prompt", "a red circle moving left")]
    [InlineData("sinks", "sinks/detection.json", "--prompt-count", "1", "--seeds", "0", "--ablation", "none", "--tau", "none")]
    [InlineData("sparsity", "sparsity/profile.csv", "--prompts", "1", "--profile-only")]
    [InlineData("structure", "structure/samples.csv", "--prompt", "a red circle moving left", "--prompt", "a blue square moving up")]
    [InlineData("edit", "edit", "--source-prompt", "a red circle moving left", "--target-prompt", "a blue circle moving left", "--video-format", ".gif")]
    public void Verb_runs_from_an_unrelated_folder_on_the_embedded_model(string verb, string written, params string[] extra)
    {
        var (code, _, error) = RunIn(_dir, new[] { verb, "--steps", "2" }.Concat(extra).Concat(Cpu).ToArray());
        Assert.True(code == 0, error);
        string path = Path.Combine(_dir, "out", "report", written);
        Assert.True(File.Exists(path) || Directory.Exists(path), path);
    }

    [Fact]
    public void The_environment_variable_overrides_the_embedded_model()
    {
        string previous = Environment.GetEnvironmentVariable(ModelLocator.EnvironmentVariable) ?? "";
        Environment.SetEnvironmentVariable(ModelLocator.EnvironmentVariable, Path.Combine(_dir, "no-such-model"));
        try
        {
            var e = Assert.Throws<VDiTLensException>(() => ModelLocator.Resolve(null));
            Assert.Contains(ModelLocator.EnvironmentVariable, e.Message);
            Assert.Equal("given", ModelLocator.Resolve("given"));
        }
        finally { Environment.SetEnvironmentVariable(ModelLocator.EnvironmentVariable, previous.Length == 0 ? null : previous); }
        Assert.True(File.Exists(Path.Combine(ModelLocator.Resolve(null), "model_index.json")));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); }
        catch (IOException) { }
    }
}
