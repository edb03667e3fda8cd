using System.Globalization;
using VDiTLens.Cli.Commands;
using VDiTLens.IO;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static VDiTLens.Tests.Cli.ImageToVideoStudiesTests;

namespace VDiTLens.Tests.Cli;

/// <summary>
/// The study verbs on the Wan layouts <see cref="ImageToVideoStudiesTests"/> leaves out (tiny sizes, 2 steps, one or
/// two prompts): Wan2.1 I2V (CLIP image tokens at <c>blocks.i.attn2.image</c>), Wan2.2 A14B text-to-video (two experts,
/// no image), Wan2.2 TI2V-5B with and without a first frame; the held-out sparsity study with an image; <c>experts</c>
/// on I2V-A14B with an image.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class WanLayoutStudiesTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vditlens-wan-layouts-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static readonly TheoryData<string> StudyVerbs = new() { "structure", "sinks", "sparsity", "edit", "edit-study", "map", "heads", "text-ablation" };

    private static string Ti2vModel => Fixtures.Path("wan22_ti2v_pipeline", "pipeline");

    /// <summary>TI2V-5B's VAE compresses 16 × spatially and its transformer patches 2 ×: 64 pixels is the narrowest width of a whole patch grid.</summary>
    private static string[] Ti2vArgs(params string[] rest)
    {
        var all = Args(Ti2vModel, rest);
        all[Array.IndexOf(all, "--width") + 1] = "64";
        return all;
    }

    private string RunVerb(string verb, Func<string[], string[]> args, params string[] extra)
    {
        var (command, verbArgs, file) = Verb(verb);
        string outDir = Path.Combine(_dir, verb + "-" + Guid.NewGuid().ToString("N")[..6]);
        Assert.Equal(0, Run(command, args(verbArgs.Concat(extra).Concat(new[] { "--out", outDir }).ToArray())));
        Assert.True(File.Exists(Path.Combine(outDir, file)), file);
        return outDir;
    }

    [Theory]
    [MemberData(nameof(StudyVerbs))]
    public void A_study_verb_runs_on_the_wan21_i2v_layout_given_an_image(string verb)
    {
        using var folder = new Wan21ImageToVideoPipeline(zeroImageValues: false);
        RunVerb(verb, a => Args(folder.Path, a), "--image", WriteImage(_dir, "a", 1));
    }

    [Theory]
    [MemberData(nameof(StudyVerbs))]
    [InlineData("experts")]
    public void A_study_verb_runs_on_the_wan22_a14b_text_to_video_layout(string verb) =>
        RunVerb(verb, a => Args(Fixtures.Path("wan22_pipeline", "pipeline"), a));

    [Theory]
    [MemberData(nameof(StudyVerbs))]
    public void A_study_verb_runs_on_the_ti2v_layout_with_text_only(string verb) => RunVerb(verb, a => Ti2vArgs(a));

    [Theory]
    [MemberData(nameof(StudyVerbs))]
    public void A_study_verb_runs_on_the_ti2v_layout_given_an_image(string verb) =>
        RunVerb(verb, a => Ti2vArgs(a), "--image", WriteImage(_dir, "a64", 1, 32, 64));

    [Fact]
    public void The_experts_verb_refuses_a_one_transformer_folder()
    {
        var (command, args, _) = Verb("experts");
        var e = Assert.Throws<VDiTLensException>(() => Run(command, Ti2vArgs(args.Concat(new[] { "--out", _dir }).ToArray())));
        Assert.Contains("two-expert", e.Message);
    }

    /// <summary>The CLIP image tokens are keys of their own cross-attention site: heads lists it, map draws it, and another image moves it.</summary>
    [Fact]
    public void On_the_wan21_i2v_layout_heads_and_map_read_the_image_cross_attention_sites()
    {
        using var folder = new Wan21ImageToVideoPipeline(zeroImageValues: false);
        string imageA = WriteImage(_dir, "a", 1), imageB = WriteImage(_dir, "b", 2);

        string heads = RunVerb("heads", a => Args(folder.Path, a), "--image", imageA, "--sites", "cross");
        var sites = File.ReadAllLines(Path.Combine(heads, "heads", "heads.csv")).Skip(1).Select(l => l.Split(',')[0]).Distinct().ToList();
        output.WriteLine($"heads --sites cross: {string.Join(", ", sites)}");
        Assert.Equal(new[] { "blocks.0.attn2.image", "blocks.0.attn2", "blocks.1.attn2.image", "blocks.1.attn2" }, sites);

        Tensor MapWith(string image)
        {
            string outDir = Path.Combine(_dir, "map-" + Path.GetFileNameWithoutExtension(image));
            Assert.Equal(0, Run(MapCommand.Create(), Args(folder.Path, "--site", "blocks.1.attn2.image", "--prompt", "a red ball rolls",
                "--image", image, "--map-dtype", "float32", "--out", outDir)));
            using var f = SafeTensorsFile.Open(Path.Combine(outDir, "maps", "blocks.1.attn2.image.step1.cond.mean", "map.safetensors"));
            return f.Load("map");
        }
        using var a = MapWith(imageA);
        using var b = MapWith(imageB);
        output.WriteLine($"image-key map {string.Join("x", a.shape)}; max |map(a) - map(b)| = {(a - b).abs().max().item<float>():E3}");
        Assert.Equal(17, a.shape[^1]);   // the tiny CLIP tower's 16 patches and its class token
        using var rowSums = a.to(ScalarType.Float64).sum(-1);
        Assert.True((rowSums - 1).abs().max().item<double>() < 1e-4, "each query's image-key probabilities sum to 1");
        Assert.True((a - b).abs().max().item<float>() > 1e-6);
    }

    [Fact]
    public void On_the_wan21_i2v_layout_sinks_measures_the_image_cross_attention_sites()
    {
        using var folder = new Wan21ImageToVideoPipeline(zeroImageValues: false);
        string outDir = RunVerb("sinks", a => Args(folder.Path, a), "--image", WriteImage(_dir, "a", 1));
        var files = Directory.GetFiles(Path.Combine(outDir, "sinks"), "*.csv");
        foreach (var f in files) output.WriteLine($"{Path.GetFileName(f)}: {File.ReadLines(f).Count()} lines");
        Assert.Contains(files, f => File.ReadAllText(f).Contains("blocks.0.attn2.image"));
    }

    /// <summary>The held-out study (proxy ranking, temperatures, control arms) on the layouts that take an image; another image is another study.</summary>
    [Theory]
    [InlineData("wan21-i2v")]
    [InlineData("wan22-i2v-a14b")]
    [InlineData("wan22-ti2v")]
    public void The_held_out_sparsity_study_runs_given_an_image_and_refuses_another_image_on_resume(string layout)
    {
        using var wan21 = layout == "wan21-i2v" ? new Wan21ImageToVideoPipeline(zeroImageValues: false) : null;
        using var a14b = layout == "wan22-i2v-a14b" ? new ImageToVideoPipeline(zeroConditionWeights: false) : null;
        int width = layout == "wan22-ti2v" ? 64 : 48;
        string outDir = Path.Combine(_dir, "held-out");
        string[] StudyArgs(string image)
        {
            var all = Args(wan21?.Path ?? a14b?.Path ?? Ti2vModel, "--prompt", "a red ball rolls", "--test-levels", "0.5", "--random-draws", "1",
                "--proxy-samples", "1", "--image", image, "--out", outDir);
            all[Array.IndexOf(all, "--width") + 1] = width.ToString(CultureInfo.InvariantCulture);
            return all;
        }
        Assert.Equal(0, Run(SparsityCommand.Create(), StudyArgs(WriteImage(_dir, "a", 1, 32, width))));
        string folderOut = Path.Combine(outDir, "sparsity");
        var samples = File.ReadAllLines(Path.Combine(folderOut, "protection_samples.csv"));
        foreach (var line in samples.Take(4)) output.WriteLine(line);
        // noise floor, other seed, all masked, sensitive, least sensitive, 1 random draw, random keys, temperature: × 1 prompt × 2 held-out seeds
        Assert.Equal(1 + 8 * 2, samples.Length);
        Assert.True(File.Exists(Path.Combine(folderOut, "protection_summary.csv")));
        var e = Assert.Throws<VDiTLensException>(() => Run(SparsityCommand.Create(), StudyArgs(WriteImage(_dir, "b", 2, 32, width))));
        output.WriteLine(e.Message);
        Assert.Contains("other settings", e.Message);
    }

    /// <summary>On I2V-A14B with an image, experts writes a row per expert at every self-attention site, and the image changes them.</summary>
    [Fact]
    public void Experts_on_the_i2v_a14b_layout_compares_both_experts_and_reads_the_image()
    {
        using var folder = new ImageToVideoPipeline(zeroConditionWeights: false);
        string[] Rows(string image)
        {
            string outDir = RunVerb("experts", a => Args(folder.Path, a), "--image", image);
            Assert.True(File.Exists(Path.Combine(outDir, "expert_pairs.csv")));
            return File.ReadAllLines(Path.Combine(outDir, "experts.csv")).Skip(1).ToArray();
        }
        var a = Rows(WriteImage(_dir, "a", 1));
        var b = Rows(WriteImage(_dir, "b", 2));
        foreach (var row in a.Concat(b)) output.WriteLine(row);
        var keys = a.Select(r => string.Join(",", r.Split(',').Take(3))).ToArray();
        Assert.Equal(new[] { "blocks.0.attn1,0,transformer", "blocks.0.attn1,0,transformer_2", "blocks.1.attn1,1,transformer", "blocks.1.attn1,1,transformer_2" }, keys);
        Assert.All(a, r => Assert.All(r.Split(',').Skip(3), v => Assert.True(double.IsFinite(double.Parse(v, CultureInfo.InvariantCulture)), r)));
        Assert.NotEqual(a, b);
    }
}
