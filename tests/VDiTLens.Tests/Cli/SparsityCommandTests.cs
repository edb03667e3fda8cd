using System.CommandLine;
using System.Text.Json.Nodes;
using VDiTLens.Cli.Commands;
using VDiTLens.Tests.Pipelines;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Cli;

/// <summary>The <c>sparsity</c> verb on the random pixel-space pipeline: report files, paper preset, profile-only.</summary>
[Collection(VDiTLens.Tests.TestSupport.ConsoleCollection.Name)]
public sealed class SparsityCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly PixelSpacePipeline _model = new();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vditlens-sparsity-cli-" + Guid.NewGuid().ToString("N"));

    private int Run(params string[] args)
    {
        var root = new RootCommand { SparsityCommand.Create() };
        var common = new[]
        {
            "sparsity", "--model", _model.Path, "--prompt", "a red circle moving left", "--steps", "1", "--frames", "3", "--height", "8", "--width", "12",
            "--max-sequence-length", "8", "--guidance", "3", "--device", "cpu", "--dtype", "float32", "--out", _dir,
        };
        return root.Parse(common.Concat(args).ToArray()).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    [Fact]
    public void Paper_preset_writes_table_heatmaps_scatter_and_html_section()
    {
        Assert.Equal(0, Run("--preset", "paper", "--levels", "0.5", "--keep-dense", "0,1"));
        string folder = Path.Combine(_dir, "sparsity");
        var csv = File.ReadAllLines(Path.Combine(folder, "sweep.csv"));
        foreach (var line in csv) output.WriteLine(line);
        Assert.Equal(1 + 2 + 2, csv.Length); // header, 2 single-layer cells, uniform K = 0 and K = 1
        Assert.Contains(csv, l => l.StartsWith("bottom_k,uniform,1,", StringComparison.Ordinal));
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "sweep.json")))!;
        Assert.True(json["complete"]!.GetValue<bool>());
        var uniformAll = json["cells"]!.AsArray().First(c => c!["Cell"]!["Mode"]!.GetValue<string>() == "uniform" && c["Cell"]!["Layer"]!.GetValue<int>() == 0)!;
        Assert.Equal(0.5, uniformAll["Density"]!.GetValue<double>(), 2); // bottom-k 50%: half the keys kept (floor rounding)
        foreach (var svg in new[] { "coverage_by_layer.svg", "sweep_bottom_k_single.svg", "sweep_bottom_k_uniform.svg", "coverage_vs_degradation_bottom_k.svg" })
            Assert.True(new FileInfo(Path.Combine(folder, svg)).Length > 0, svg);
        string html = File.ReadAllText(Path.Combine(_dir, "index.html"));
        Assert.Contains("id=\"sparsity\"", html);
        Assert.Contains("Looks sparse vs can be sparsified", html);
    }

    [Fact]
    public void Default_is_the_held_out_study_and_sweep_options_cannot_mix_with_it()
    {
        Assert.Equal(0, Run("--test-levels", "0.5", "--random-draws", "1", "--proxy-samples", "1"));
        string folder = Path.Combine(_dir, "sparsity");
        var samples = File.ReadAllLines(Path.Combine(folder, "protection_samples.csv"));
        // noise floor, other seed, all masked, sensitive, least sensitive, 1 random draw, random keys, temperature: × 1 prompt × 2 held-out seeds
        Assert.Equal(1 + 8 * 2, samples.Length);
        Assert.All(samples.Skip(1), r => Assert.Contains(r.Split(',')[4], new[] { "1", "2" }));
        Assert.Contains(File.ReadAllLines(Path.Combine(folder, "protection_summary.csv")), l => l.StartsWith("normalised,sensitive_dense,0.5,latent_rel_l2,", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(folder, "sweep.csv")));
        var e = Assert.Throws<VDiTLensException>(() => Run("--modes", "single", "--dev-seeds", "0"));
        Assert.Contains("--dev-seeds", e.Message);
    }

    [Fact]
    public void Profile_only_writes_per_head_and_step_coverage()
    {
        Assert.Equal(0, Run("--profile-only"));
        var rows = File.ReadAllLines(Path.Combine(_dir, "sparsity", "profile.csv"));
        Assert.Equal("site,layer,step,head,p,coverage_fraction", rows[0]);
        Assert.Equal(1 + 2 * 1 * 2 * 4, rows.Length); // 2 layers × 1 step × 2 heads × 4 levels
        Assert.False(File.Exists(Path.Combine(_dir, "sparsity", "sweep.csv")));
        Assert.All(rows.Skip(1), r => Assert.InRange(double.Parse(r.Split(',')[5], System.Globalization.CultureInfo.InvariantCulture), 0.0, 1.0));
    }

    [Fact]
    public void Bad_method_config_names_the_field()
    {
        var e = Assert.Throws<VDiTLensException>(() => Run("--config", "{\"type\": \"block_topk\", \"blok_size\": 4}"));
        output.WriteLine(e.Message);
        Assert.Contains("blok_size", e.Message);
    }

    public void Dispose()
    {
        _model.Dispose();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
