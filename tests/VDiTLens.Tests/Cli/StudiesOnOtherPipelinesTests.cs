using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using VDiTLens.Cli.Commands;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Cli;

/// <summary>
/// <c>structure</c>, <c>sinks</c>, <c>sparsity</c>, <c>edit</c> and <c>edit-study</c> end to end on the CogVideoX,
/// Mochi-1 and HunyuanVideo fixture pipelines (diffusers-made, tiny sizes, 2 steps).
/// </summary>
[Collection(VDiTLens.Tests.TestSupport.ConsoleCollection.Name)]
public sealed class StudiesOnOtherPipelinesTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vditlens-studies-other-" + Guid.NewGuid().ToString("N"));

    /// <summary>The fixture folder and sizes that fit it (Mochi: 6× temporal compression, at most 16 prompt tokens).</summary>
    private static string[] Fixture(string family) => family switch
    {
        "cogvideox" => new[] { "--model", Fixtures.Path("cogvideox_pipeline", "pipeline"), "--frames", "9", "--max-sequence-length", "16" },
        "mochi" => new[] { "--model", Fixtures.Path("mochi_pipeline", "pipeline"), "--frames", "7", "--max-sequence-length", "8" },
        "hunyuan" => new[] { "--model", Fixtures.Path("hunyuan_video_pipeline", "pipeline"), "--frames", "5", "--max-sequence-length", "8" },
        _ => throw new ArgumentException(family),
    };

    private static readonly string[] Common = { "--height", "32", "--width", "32", "--guidance", "3", "--device", "cpu", "--dtype", "float32" };

    private static readonly Dictionary<string, string[]> JointSites = new()
    {
        ["cogvideox"] = new[] { "transformer_blocks.0.attn1", "transformer_blocks.1.attn1" },
        ["mochi"] = new[] { "transformer_blocks.0.attn1", "transformer_blocks.1.attn1" },
        ["hunyuan"] = new[] { "transformer_blocks.0.attn", "single_transformer_blocks.0.attn" },
    };

    /// <summary>The blocks, whose video streams the sinks study measures.</summary>
    private static readonly Dictionary<string, string[]> Blocks = new()
    {
        ["cogvideox"] = new[] { "transformer_blocks.0", "transformer_blocks.1" },
        ["mochi"] = new[] { "transformer_blocks.0", "transformer_blocks.1" },
        ["hunyuan"] = new[] { "transformer_blocks.0", "single_transformer_blocks.0" },
    };

    private static int Run(Command command, params string[] args) =>
        new RootCommand { command }.Parse(new[] { command.Name }.Concat(args).ToArray())
            .Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });

    [Theory]
    [InlineData("cogvideox")]
    [InlineData("mochi")]
    [InlineData("hunyuan")]
    public void Structure_maps_of_a_model_compared_with_itself_correlate_perfectly(string family)
    {
        string model = Fixture(family)[1];
        Assert.Equal(0, Run(StructureCommand.Create(), Fixture(family).Concat(Common).Concat(new[]
        {
            "--prompt", "a red ball rolls", "--prompt", "a blue cube falls", "--seeds", "1", "--denoising-steps", "2",
            "--compare-model", model, "--out", _dir,
        }).ToArray()));
        var frame = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "structure", "summary.json")))!["kinds"]!["frame_map"]!.AsArray();
        Assert.Equal(JointSites[family], frame.Select(s => s!["site"]!.GetValue<string>()));
        foreach (var site in frame)
        {
            var self = site!["head_average"]!["cross_model"]!;
            output.WriteLine($"{site["site"]}: cross-model r {self["pearson"]}, JS {self["js"]}, cross-prompt r {site["head_average"]!["cross_prompt"]!["pearson"]}");
            Assert.Equal(1.0, self["pearson"]!.GetValue<double>(), 6);
            Assert.Equal(0.0, self["js"]!.GetValue<double>(), 6);
            // two prompts: a real comparison, not the self-comparison
            double crossPrompt = site["head_average"]!["cross_prompt"]!["pearson"]!.GetValue<double>();
            Assert.InRange(crossPrompt, -1, 1);
            Assert.Equal(1.0, site["pearson_to_final_step"]![1]!.GetValue<double>(), 9);
        }
    }

    [Theory]
    [InlineData("cogvideox")]
    [InlineData("mochi")]
    [InlineData("hunyuan")]
    public void Sinks_writes_detection_characterisation_ablation_and_temperature(string family)
    {
        Assert.Equal(0, Run(SinksCommand.Create(), Fixture(family).Concat(Common).Concat(new[]
        {
            "--prompt", "a red ball rolls", "--seeds", "0", "--steps", "2", "--ablation", "mask", "--tau", "2", "--out", _dir,
        }).ToArray()));
        string sinks = Path.Combine(_dir, "sinks");
        foreach (var file in new[] { "detection.json", "sinks_per_step.csv", "sink_mass_joint.svg", "characterisation.json", "ablation.csv", "temperature.csv",
                     $"maps/{JointSites[family][1]}.svg" })
            Assert.True(File.Exists(Path.Combine(sinks, file)), file);
        var detection = JsonNode.Parse(File.ReadAllText(Path.Combine(sinks, "detection.json")))!;
        var aggregate = detection["Aggregate"]!.AsArray();
        Assert.Contains(aggregate, s => s!["Site"]!.GetValue<string>() == JointSites[family][1] && s["Kind"]!.GetValue<string>() == "joint");
        // τ = 1 is the baseline compared with itself; τ = 2 on every joint site changes the output
        var temperature = File.ReadAllLines(Path.Combine(sinks, "temperature.csv"));
        foreach (var line in temperature) output.WriteLine(line);
        Assert.Equal(3, temperature.Length);
        double Latent(string row) => double.Parse(row.Split(',')[4], CultureInfo.InvariantCulture);
        Assert.Equal(0.0, Latent(temperature[1]));
        Assert.True(Latent(temperature[2]) > 1e-4, temperature[2]);
        var characterisation = JsonNode.Parse(File.ReadAllText(Path.Combine(sinks, "characterisation.json")))!;
        // the video stream after each of the two blocks (the "hidden" block outputs), located on the video grid
        var residuals = characterisation["Residuals"]!.AsArray();
        Assert.Equal(Blocks[family].Select(b => b + ".hidden"), residuals.Select(r => r!["Key"]!.GetValue<string>()));
        Assert.All(residuals, r => Assert.StartsWith("video(", r!["MaxLocation"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("cogvideox")]
    [InlineData("mochi")]
    [InlineData("hunyuan")]
    public void Sparsity_cell_at_temperature_one_equals_the_dense_run_exactly(string family)
    {
        Assert.Equal(0, Run(SparsityCommand.Create(), Fixture(family).Concat(Common).Concat(new[]
        {
            "--prompt", "a red ball rolls", "--steps", "2", "--method", "temperature", "--levels", "1,4", "--modes", "single", "--out", _dir,
        }).ToArray()));
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "sparsity", "sweep.json")))!;
        Assert.True(json["complete"]!.GetValue<bool>());
        Assert.Null(json["dense_accuracy"]?.GetValue<double?>());
        var cells = json["cells"]!.AsArray();
        // the sweep's layers: every attention layer (HunyuanVideo's includes its token refiner's layer 0), two levels each
        int layers = family == "hunyuan" ? 3 : 2, jointCells = 0;
        Assert.Equal(layers * 2, cells.Count);
        foreach (var cell in cells)
        {
            double level = cell!["Cell"]!["Level"]!.GetValue<double>();
            double latent = cell["LatentRelativeL2"]!.GetValue<double>();
            output.WriteLine($"layer {cell["Cell"]!["Layer"]} τ={level}: latent rel L2 {latent:E3}, SSIM {cell["Ssim"]}");
            Assert.Null(cell["Accuracy"]?.GetValue<double?>());
            if (level == 1)
            {
                Assert.Equal(0.0, latent);
                Assert.Equal(1.0, cell["Ssim"]!.GetValue<double>(), 9);
            }
            // τ = 4 on a block's joint attention changes the output (HunyuanVideo's text-only token refiner barely does)
            else if (cell["SparsifiedSites"]!.AsArray().Any(site => JointSites[family].Contains(site!.GetValue<string>())))
            {
                Assert.True(latent > 1e-4, $"τ = 4 at layer {cell["Cell"]!["Layer"]}: latent rel L2 {latent}");
                jointCells++;
            }
        }
        Assert.Equal(2, jointCells); // one τ = 4 cell per block
        Assert.True(File.Exists(Path.Combine(_dir, "sparsity", "profile.csv")));
    }

    [Theory]
    [InlineData("cogvideox")]
    [InlineData("mochi")]
    [InlineData("hunyuan")]
    public void Edit_runs_on_the_family_and_writes_its_metrics(string family)
    {
        Assert.Equal(0, Run(EditCommand.Create(), Fixture(family).Concat(Common).Concat(new[]
        {
            "--steps", "2", "--source-prompt", "a red ball", "--target-prompt", "a blue ball", "--out", _dir, "--video-format", ".gif",
        }).ToArray()));
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "edit", "metrics.json")))!;
        output.WriteLine(metrics.ToJsonString());
        Assert.True(File.Exists(Path.Combine(_dir, "edit", "contact_sheet.png")));
    }

    [Theory]
    [InlineData("cogvideox")]
    [InlineData("mochi")]
    [InlineData("hunyuan")]
    public void Edit_study_transfers_each_block_and_reports_the_generic_measures_it_used(string family)
    {
        Assert.Equal(0, Run(EditStudyCommand.Create(), Fixture(family).Concat(Common).Concat(new[]
        {
            "--steps", "2", "--pair", "a red ball rolls => a blue ball rolls", "--out", _dir,
        }).ToArray()));
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "edit-study", "summary.json")))!;
        output.WriteLine(summary["bands"]!.ToJsonString());
        // not trained on procedural clips: the evaluator is not used, and the report says which measures were
        var measures = summary["measures"]!.AsArray().Select(m => m!.GetValue<string>()).ToArray();
        Assert.Equal(new[] { "PSNR to source", "MS-SSIM to source", "PSNR to target", "MS-SSIM to target" }, measures);
        Assert.Contains("the procedural evaluator reads only models trained on procedural clips", File.ReadAllText(Path.Combine(_dir, "index.html")));
        var bands = summary["bands"]!.AsArray();
        Assert.Equal(new[] { "L0", "L1", "all" }, bands.Select(b => b!["Band"]!.GetValue<string>()));
        var cells = summary["cells"]!.AsArray();
        foreach (var cell in cells)
        {
            Assert.Null(cell!["Metrics"]?.GetValue<object?>());
            var f = cell["Fidelity"]!;
            // the plain target is the same generation in every band: its distance to the source does not depend on the band
            var first = cells.First(c => c!["Seed"]!.GetValue<long>() == cell["Seed"]!.GetValue<long>())!;
            Assert.Equal(first["Fidelity"]!["TargetToSourcePsnr"]!.GetValue<double>(), f["TargetToSourcePsnr"]!.GetValue<double>(), 9);
            Assert.InRange(f["EditedToSourceMsSsim"]!.GetValue<double>(), -1, 1);
        }
        // every band's transfer changed the target's generation (identical videos would have infinite PSNR)
        foreach (var band in bands)
            Assert.True(double.IsFinite(band!["PsnrToTarget"]!.GetValue<double>()), band.ToJsonString());
    }

    [Theory]
    [InlineData("mochi", "data")]
    [InlineData("hunyuan", "block")]
    public void Retrain_trains_a_block_saves_the_student_and_measures_it_on_held_out_prompts(string family, string target)
    {
        string work = Path.Combine(_dir, "work"), report = Path.Combine(_dir, "report");
        Assert.Equal(0, Run(RetrainCommand.Create(), Fixture(family).Concat(Common).Concat(new[]
        {
            "--prompt", "a red ball rolls", "--prompt", "a blue cube falls", "--held-out", "1", "--steps", "2", "--blocks", "1",
            "--target", target, "--train-steps", "2", "--pool-seeds", "1", "--out", work, "--report", report,
        }).ToArray()));
        var table = File.ReadAllLines(Path.Combine(report, "retrain", "before_after.csv"));
        foreach (var line in table) output.WriteLine(line);
        Assert.Contains(table, l => l.StartsWith($"{JointSites[family][1]} sink mass,", StringComparison.Ordinal));
        var fidelity = table.Single(l => l.StartsWith("dense fidelity to the original: latent rel. error,", StringComparison.Ordinal));
        Assert.True(double.Parse(fidelity.Split(',')[2], CultureInfo.InvariantCulture) > 0, fidelity); // a re-initialised block changes the output
        Assert.Contains("all held out of the training pool", File.ReadAllText(Path.Combine(report, "index.html")));
        Assert.True(File.Exists(Path.Combine(work, "pipeline", "model_index.json")));
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
