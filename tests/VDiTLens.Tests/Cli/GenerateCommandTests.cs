using System.CommandLine;
using VDiTLens.Cli.Commands;
using VDiTLens.IO;
using VDiTLens.IO.Video;
using VDiTLens.Tests.IO.Video;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using Tensor = TorchSharp.torch.Tensor;

namespace VDiTLens.Tests.Cli;

/// <summary>The <c>generate</c> verb on the wan_pipeline fixture: playable files, and the reference video through the CLI.</summary>
[Collection(VDiTLens.Tests.TestSupport.ConsoleCollection.Name)]
public sealed class GenerateCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vditlens-generate-" + Guid.NewGuid().ToString("N"));

    private static readonly string[] FixtureArgs =
    {
        "--model", Fixtures.Path("wan_pipeline", "pipeline"),
        "--prompt", WanPipelineParityTests.Prompts[0], "--prompt", WanPipelineParityTests.Prompts[1],
        "--negative-prompt", WanPipelineParityTests.NegativePrompt,
        "--height", "32", "--width", "48", "--frames", "9", "--max-sequence-length", "16",
        "--device", "cpu", "--dtype", "float32",
    };

    private int Run(params string[] args)
    {
        var root = new RootCommand { GenerateCommand.Create() };
        return root.Parse(new[] { "generate" }.Concat(FixtureArgs).Concat(args).ToArray())
            .Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    [Fact]
    public void Gif_output_is_one_playable_animation_per_prompt()
    {
        Assert.Equal(0, Run("--steps", "2", "--seed", "3", "--out", Path.Combine(_dir, "clip.gif")));
        foreach (var name in new[] { "clip_0.gif", "clip_1.gif" })
        {
            var gif = GifReader.Read(File.ReadAllBytes(Path.Combine(_dir, name)));
            Assert.Equal((48, 32), (gif.Width, gif.Height));
            Assert.Equal(9, gif.Frames.Count);
            Assert.True(gif.Loops);
        }
    }

    [Fact]
    public void Mp4_output_uses_ffmpeg_or_falls_back_to_gif()
    {
        Assert.Equal(0, Run("--steps", "1", "--out", Path.Combine(_dir, "clip.mp4")));
        if (FfmpegWriter.Locate() is null)
        {
            output.WriteLine("ffmpeg not on PATH: checking the GIF fallback");
            Assert.False(File.Exists(Path.Combine(_dir, "clip_0.mp4")));
            Assert.Equal(9, GifReader.Read(File.ReadAllBytes(Path.Combine(_dir, "clip_0.gif"))).Frames.Count);
        }
        else
        {
            var bytes = File.ReadAllBytes(Path.Combine(_dir, "clip_0.mp4"));
            Assert.Equal("ftyp", System.Text.Encoding.ASCII.GetString(bytes, 4, 4));
        }
    }

    [Fact]
    public void Interventions_apply_to_the_generation_and_block_topk_at_density_one_changes_nothing()
    {
        Directory.CreateDirectory(_dir);
        Tensor Generate(string name, params string[] extra)
        {
            string file = Path.Combine(_dir, name + ".safetensors");
            Assert.Equal(0, Run(new[] { "--steps", "2", "--seed", "5", "--out", file }.Concat(extra).ToArray()));
            using var f = SafeTensorsFile.Open(file);
            return f.Load("video");
        }
        var dense = Generate("dense");
        string full = Path.Combine(_dir, "full.json");
        File.WriteAllText(full, """[{"type":"block_topk","keep_blocks":1000,"block_size":8,"query_block_size":24,"sites":["self"]}]""");
        var same = Generate("full", "--interventions", full);
        var sparse = Generate("sparse", "--interventions", """[{"type":"block_topk","sparsity":0.75,"block_size":8,"query_block_size":24,"sites":["self"]}]""");
        double unchanged = Fixtures.RelativeL2(same, dense), changed = Fixtures.RelativeL2(sparse, dense);
        output.WriteLine($"block_topk density 1: {unchanged:E2} from dense; sparsity 0.75: {changed:E2}");
        Assert.True(unchanged <= 1e-6, $"{unchanged:E2}");
        Assert.True(changed > 1e-3, $"{changed:E2}");
        Assert.Throws<VDiTLensException>(() => Run("--steps", "1", "--out", Path.Combine(_dir, "x.safetensors"), "--interventions", "no-such-file.json"));
    }

    [Fact]
    public void A_branch_scoped_intervention_changes_batched_guidance_as_it_changes_split_guidance()
    {
        Directory.CreateDirectory(_dir);
        Tensor Generate(string name, params string[] extra)
        {
            string file = Path.Combine(_dir, name + ".safetensors");
            Assert.Equal(0, Run(new[] { "--steps", "2", "--seed", "5", "--out", file }.Concat(extra).ToArray()));
            using var f = SafeTensorsFile.Open(file);
            return f.Load("video");
        }
        const string cond = """[{"type":"bottom_k","sparsity":0.7,"sites":["self"],"branches":["cond"]}]""";
        var dense = Generate("dense");
        var batched = Generate("batched", "--interventions", cond);
        var split = Generate("split", "--interventions", cond, "--split-guidance");
        var firstLayer = Generate("layer0", "--interventions", """[{"type":"bottom_k","sparsity":0.7,"sites":["self"],"branches":["cond"],"layers":"0"}]""");
        double changed = Fixtures.RelativeL2(batched, dense), agreement = Fixtures.RelativeL2(batched, split);
        double layerOnly = Fixtures.RelativeL2(firstLayer, dense), layerVsAll = Fixtures.RelativeL2(firstLayer, batched);
        output.WriteLine($"cond-scoped bottom_k: {changed:E2} from dense, batched vs split {agreement:E2}; layer 0 only: {layerOnly:E2} from dense, {layerVsAll:E2} from all layers");
        Assert.True(changed > 1e-3, $"the cond-scoped intervention changed the batched generation by {changed:E2}");
        Assert.True(agreement <= 1e-4, $"batched vs split {agreement:E2}");
        Assert.True(layerOnly > 1e-4 && layerVsAll > 1e-4, $"{layerOnly:E2} / {layerVsAll:E2}");
    }

    [Fact]
    public void Safetensors_output_with_reference_latents_reproduces_the_diffusers_video()
    {
        var reference = Fixtures.Load("wan_pipeline/reference.safetensors");
        Directory.CreateDirectory(_dir);
        string latents = Path.Combine(_dir, "latents.safetensors");
        SafeTensorsWriter.Save(latents, new Dictionary<string, TorchSharp.torch.Tensor> { ["latents"] = reference["latents_init"] });
        string outFile = Path.Combine(_dir, "video.safetensors");
        Assert.Equal(0, Run("--steps", "4", "--guidance", "5", "--latents", latents, "--out", outFile));
        using var file = SafeTensorsFile.Open(outFile);
        using var video = file.Load("video");
        double error = Fixtures.RelativeL2(video, reference["video"]);
        output.WriteLine($"video via CLI: relative L2 {error:E3}");
        Assert.True(error <= 1e-5, $"video via CLI: relative L2 {error:E3}");
    }

    [Fact]
    public void Png_output_writes_every_frame()
    {
        Assert.Equal(0, Run("--steps", "1", "--out", Path.Combine(_dir, "f.png")));
        Assert.Equal(18, Directory.GetFiles(_dir, "f_*_*.png").Length);
        Assert.True(File.Exists(Path.Combine(_dir, "f_1_008.png")));
    }

    [Fact]
    public void Unknown_output_format_is_refused_before_loading()
    {
        var e = Assert.Throws<VDiTLensException>(() => Run("--steps", "1", "--out", Path.Combine(_dir, "clip.avi")));
        Assert.Contains(".avi", e.Message);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
