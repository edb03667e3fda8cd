using System.CommandLine;
using VDiTLens.Cli.Commands;
using VDiTLens.IO;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Cli;

/// <summary>
/// The study verbs with <c>--image</c> on the Wan2.2 I2V-A14B layout (<see cref="ImageToVideoPipeline"/>, condition
/// weights seeded so the image matters; tiny sizes, 2 steps): each writes its outputs, the image changes what is
/// measured, a missing, misplaced or wrong-sized image is refused, a shard given another image is refused, and
/// <c>retrain --expert transformer_2</c> swaps only the low-noise expert's weights.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ImageToVideoStudiesTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vditlens-i2v-studies-").FullName;
    private readonly ImageToVideoPipeline Folder = new(zeroConditionWeights: false);

    public void Dispose()
    {
        Folder.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    internal static int Run(Command command, params string[] args) =>
        new RootCommand { command }.Parse(new[] { command.Name }.Concat(args).ToArray())
            .Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });

    internal static readonly string[] Sizes =
    {
        "--height", "32", "--width", "48", "--frames", "9", "--max-sequence-length", "16", "--steps", "2", "--guidance", "3",
        "--device", "cpu", "--dtype", "float32",
    };

    internal static string[] Args(string model, params string[] rest) => new[] { "--model", model }.Concat(Sizes).Concat(rest).ToArray();

    /// <summary>A first frame of the fixture's size (or another), seeded, under key 'image'.</summary>
    private string Image(string name, ulong seed, int height = 32, int width = 48) => WriteImage(_dir, name, seed, height, width);

    internal static string WriteImage(string dir, string name, ulong seed, int height = 32, int width = 48)
    {
        string file = Path.Combine(dir, name + ".safetensors");
        SafeTensorsWriter.Save(file, new Dictionary<string, Tensor> { ["image"] = rand(new long[] { 1, 3, height, width }, generator: new Generator(seed)) });
        return file;
    }

    /// <summary>Each generating verb: its command, its own arguments, and a file it writes under --out.</summary>
    internal static (Command Command, string[] Args, string Output) Verb(string verb) => verb switch
    {
        "structure" => (StructureCommand.Create(), new[] { "--prompt", "a red ball rolls", "--prompt", "a blue cube falls", "--seeds", "1" }, "structure/summary.json"),
        "sinks" => (SinksCommand.Create(), new[] { "--prompt", "a red ball rolls", "--seeds", "0", "--ablation", "mask", "--tau", "2" }, "sinks/temperature.csv"),
        "sparsity" => (SparsityCommand.Create(), new[] { "--prompt", "a red ball rolls", "--method", "temperature", "--levels", "1,4", "--modes", "single" }, "sparsity/sweep.json"),
        "edit" => (EditCommand.Create(), new[] { "--source-prompt", "a red ball", "--target-prompt", "a blue ball", "--video-format", ".gif" }, "edit/metrics.json"),
        "edit-study" => (EditStudyCommand.Create(), new[] { "--pair", "a red ball rolls => a blue ball rolls" }, "edit-study/summary.json"),
        "map" => (MapCommand.Create(), new[] { "--site", "blocks.0.attn1", "--prompt", "a red ball rolls" }, "maps/blocks.0.attn1.step1.cond.mean/map.safetensors"),
        "heads" => (HeadsCommand.Create(), new[] { "--prompt", "a red ball rolls", "--seeds", "0" }, "heads/heads.csv"),
        "text-ablation" => (TextAblationCommand.Create(), new[] { "--prompt", "a red ball rolls", "--seeds", "0" }, "text-ablation/text_ablation.csv"),
        "experts" => (ExpertsCommand.Create(), new[] { "--prompt", "a red ball rolls" }, "experts.csv"),
        _ => throw new ArgumentException(verb),
    };

    [Theory]
    [InlineData("structure")]
    [InlineData("sinks")]
    [InlineData("sparsity")]
    [InlineData("edit")]
    [InlineData("edit-study")]
    [InlineData("map")]
    [InlineData("heads")]
    [InlineData("text-ablation")]
    [InlineData("experts")]
    public void A_study_verb_runs_on_an_image_to_video_folder_given_an_image(string verb)
    {
        var (command, args, file) = Verb(verb);
        string outDir = Path.Combine(_dir, "out");
        Assert.Equal(0, Run(command, Args(Folder.Path, args.Concat(new[] { "--image", Image("a", 1), "--out", outDir }).ToArray())));
        Assert.True(File.Exists(Path.Combine(outDir, file)), file);
    }

    [Theory]
    [InlineData("structure")]
    [InlineData("sinks")]
    [InlineData("edit")]
    [InlineData("map")]
    [InlineData("text-ablation")]
    public void Without_an_image_an_image_to_video_folder_is_refused_naming_the_option(string verb)
    {
        var (command, args, _) = Verb(verb);
        var e = Assert.Throws<VDiTLensException>(() => Run(command, Args(Folder.Path, args.Concat(new[] { "--out", _dir }).ToArray())));
        Assert.Contains("Image is required", e.Message);
        Assert.Contains("--image", e.Message);
    }

    [Fact]
    public void A_text_to_video_folder_refuses_an_image()
    {
        var (command, args, _) = Verb("sinks");
        var e = Assert.Throws<VDiTLensException>(() => Run(command,
            Args(Fixtures.Path("wan22_pipeline", "pipeline"), args.Concat(new[] { "--image", Image("a", 1), "--out", _dir }).ToArray())));
        Assert.Contains("text-to-video", e.Message);
    }

    [Fact]
    public void An_image_of_another_size_is_refused_as_generate_refuses_it()
    {
        var (command, args, _) = Verb("structure");
        var e = Assert.Throws<VDiTLensException>(() => Run(command, Args(Folder.Path, args.Concat(new[] { "--image", Image("small", 1, 16, 16), "--out", _dir }).ToArray())));
        Assert.Contains("Image must be [1 or", e.Message);
    }

    [Fact]
    public void The_image_changes_the_attention_map()
    {
        var (_, args, file) = Verb("map");
        Tensor MapWith(string image, string outDir)
        {
            Assert.Equal(0, Run(MapCommand.Create(), Args(Folder.Path, args.Concat(new[] { "--image", image, "--out", outDir, "--map-dtype", "float32" }).ToArray())));
            using var f = SafeTensorsFile.Open(Path.Combine(outDir, file));
            return f.Load("map");
        }
        using var a = MapWith(Image("a", 1), Path.Combine(_dir, "a"));
        using var again = MapWith(Image("a", 1), Path.Combine(_dir, "again"));
        using var b = MapWith(Image("b", 2), Path.Combine(_dir, "b"));
        double same = (a - again).abs().max().item<float>(), other = (a - b).abs().max().item<float>();
        output.WriteLine($"max |map(a) - map(a)| = {same:E3}, max |map(a) - map(b)| = {other:E3}");
        Assert.Equal(0.0, same);
        Assert.True(other > 1e-6, $"max |map(a) - map(b)| = {other:E3}");
    }

    /// <summary>Wan2.2 TI2V-5B (expand_timesteps): the image is optional and, given, replaces the first latent frame.</summary>
    [Fact]
    public void On_the_ti2v_layout_the_image_changes_the_attention_map()
    {
        var (_, args, file) = Verb("map");
        string model = Fixtures.Path("wan22_ti2v_pipeline", "pipeline");
        Tensor MapWith(string[] image, string outDir)
        {
            var all = Args(model, args.Concat(image).Concat(new[] { "--out", outDir, "--map-dtype", "float32" }).ToArray());
            all[Array.IndexOf(all, "--width") + 1] = "64";
            Assert.Equal(0, Run(MapCommand.Create(), all));
            using var f = SafeTensorsFile.Open(Path.Combine(outDir, file));
            return f.Load("map");
        }
        using var none = MapWith(Array.Empty<string>(), Path.Combine(_dir, "none"));
        using var a = MapWith(new[] { "--image", Image("a64", 1, 32, 64) }, Path.Combine(_dir, "a"));
        using var b = MapWith(new[] { "--image", Image("b64", 2, 32, 64) }, Path.Combine(_dir, "b"));
        double toNone = (a - none).abs().max().item<float>(), toB = (a - b).abs().max().item<float>();
        output.WriteLine($"max |map(a) - map(no image)| = {toNone:E3}, max |map(a) - map(b)| = {toB:E3}");
        Assert.True(toNone > 1e-6 && toB > 1e-6, $"{toNone:E3}, {toB:E3}");
    }

    [Theory]
    [InlineData("structure")]
    [InlineData("sinks")]
    public void A_shard_given_another_image_is_refused(string verb)
    {
        var (command, args, _) = Verb(verb);
        string outDir = Path.Combine(_dir, "sharded");
        string[] Shard(string image, string part) => Args(Folder.Path, args.Concat(new[] { "--image", image, "--out", outDir, "--shard", part }).ToArray());
        Assert.Equal(0, Run(command, Shard(Image("a", 1), "0/2")));
        var e = Assert.Throws<VDiTLensException>(() => Run(Verb(verb).Command, Shard(Image("b", 2), "1/2")));
        output.WriteLine(e.Message);
        Assert.Contains("other settings", e.Message);
        Assert.Equal(0, Run(Verb(verb).Command, Shard(Path.Combine(_dir, "a.safetensors"), "1/2")));   // the same image again is the same study
    }

    [Fact]
    public void Retrain_of_the_low_noise_expert_swaps_only_transformer_2()
    {
        string work = Path.Combine(_dir, "work"), report = Path.Combine(_dir, "report");
        Assert.Equal(0, Run(RetrainCommand.Create(), Args(Folder.Path,
            "--prompt", "a red ball rolls", "--prompt", "a blue cube falls", "--held-out", "1", "--blocks", "1", "--expert", "transformer_2",
            "--train-steps", "2", "--pool-seeds", "1", "--image", Image("a", 1), "--out", work, "--report", report)));
        string student = Path.Combine(work, "pipeline");
        string WeightsOf(string root, string component) => Path.Combine(root, component, "diffusion_pytorch_model.safetensors");
        Assert.Equal(File.ReadAllBytes(WeightsOf(Folder.Path, "transformer")), File.ReadAllBytes(WeightsOf(student, "transformer")));
        using var before = SafeTensorsFile.Open(WeightsOf(Folder.Path, "transformer_2"));
        using var after = SafeTensorsFile.Open(WeightsOf(student, "transformer_2"));
        Assert.Equal(before.Names.OrderBy(n => n), after.Names.OrderBy(n => n));
        var changed = before.Names.Where(name =>
        {
            using var x = before.Load(name);
            using var y = after.Load(name);
            return (x != y).any().item<bool>();
        }).ToList();
        output.WriteLine($"changed in transformer_2: {string.Join(", ", changed)}");
        Assert.NotEmpty(changed);
        Assert.All(changed, name => Assert.StartsWith("blocks.1.", name));
        Assert.Contains("of transformer_2", File.ReadAllText(Path.Combine(report, "index.html")));
    }

    /// <summary>Wan2.1 I2V: the training calls take the CLIP image embeddings and condition channels; another image gives another pool and loss.</summary>
    [Fact]
    public void Retrain_on_the_wan21_i2v_layout_trains_on_the_image_conditioned_pool()
    {
        using var wan21 = new Wan21ImageToVideoPipeline(zeroImageValues: false);
        double[] FirstLosses(string image, string name)
        {
            string work = Path.Combine(_dir, name);
            Assert.Equal(0, Run(RetrainCommand.Create(), Args(wan21.Path,
                "--prompt", "a red ball rolls", "--prompt", "a blue cube falls", "--held-out", "1", "--blocks", "1", "--target", "final",
                "--train-steps", "2", "--pool-seeds", "1", "--image", image, "--out", work, "--report", Path.Combine(_dir, name + "-report"))));
            var state = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(work, "checkpoint", "state.json")))!;
            Assert.StartsWith("sha256:", state["Options"]!["ImageHash"]!.GetValue<string>());
            return state["Losses"]!.AsArray().Select(l => l!.GetValue<double>()).ToArray();
        }
        var a = FirstLosses(Image("a", 1), "a");
        var b = FirstLosses(Image("b", 2), "b");
        var e = Assert.Throws<VDiTLensException>(() => FirstLosses(Path.Combine(_dir, "b.safetensors"), "a"));   // resuming a's work folder with b
        Assert.Contains("other options", e.Message);
        output.WriteLine($"losses with image a: {string.Join(", ", a)}; with image b: {string.Join(", ", b)}");
        Assert.All(a.Concat(b), l => Assert.True(double.IsFinite(l) && l > 0, l.ToString()));
        Assert.NotEqual(a[0], b[0]);
    }
}
