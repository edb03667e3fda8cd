using System.Globalization;
using System.CommandLine;
using System.Text.Json.Nodes;
using VDiTLens.Cli.Commands;
using VDiTLens.Studies.Structure;
using VDiTLens.Tests.IO.Video;
using VDiTLens.Tests.Pipelines;

namespace VDiTLens.Tests.Cli;

/// <summary>The structure, edit and edit-study verbs end to end on the random pixel-space pipeline (tiny sizes).</summary>
[Collection(VDiTLens.Tests.TestSupport.ConsoleCollection.Name)]
public sealed class StructureCommandsTests : IDisposable
{
    private readonly PixelSpacePipeline _model = new();
    private readonly string _out = Path.Combine(Path.GetTempPath(), "vditlens-structure-" + Guid.NewGuid().ToString("N"));

    private string[] Small => new[]
    {
        "--model", _model.Path, "--out", _out, "--denoising-steps", "3", "--guidance", "3",
        "--frames", "5", "--height", "8", "--width", "8", "--max-sequence-length", "8", "--device", "cpu", "--dtype", "float32",
    };

    private int Run(Command command, params string[] args)
    {
        var root = new RootCommand { command };
        return root.Parse(new[] { command.Name }.Concat(args).Concat(Small).ToArray())
            .Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    private string File(params string[] parts) => Path.Combine(new[] { _out }.Concat(parts).ToArray());

    [Fact]
    public void Structure_writes_tables_heatmaps_and_resumes_from_saved_maps()
    {
        string[] args = { "--prompt", "a red circle moving left", "--prompt", "a blue square moving right", "--seeds", "1,2", "--tiles", "--compare-model", _model.Path };
        Assert.Equal(0, Run(StructureCommand.Create(), args));
        var json = JsonNode.Parse(System.IO.File.ReadAllText(File("structure", "summary.json")))!;
        var frame = json["kinds"]!["frame_map"]!.AsArray();
        Assert.Equal(new[] { "blocks.0.attn1", "blocks.1.attn1" }, frame.Select(s => s!["site"]!.GetValue<string>()));
        foreach (var site in frame)
        {
            // the same model with the same prompts and seeds: identical maps
            var model = site!["head_average"]!["cross_model"]!;
            Assert.Equal(1.0, model["pearson"]!.GetValue<double>(), 6);
            Assert.Equal(0.0, model["js"]!.GetValue<double>(), 6);
            Assert.InRange(site["head_average"]!["cross_prompt"]!["pearson"]!.GetValue<double>(), -1, 1);
            Assert.Equal(3, site["pearson_to_final_step"]!.AsArray().Count);
            Assert.Equal(1.0, site["pearson_to_final_step"]![2]!.GetValue<double>(), 9);
            Assert.Equal(2, site["per_head"]!.AsArray().Count);
        }
        Assert.Equal(2, json["kinds"]!["tile_map"]!.AsArray().Count);
        Assert.Equal(1 + 2 * 2 * 3, System.IO.File.ReadAllLines(File("structure", "summary.csv")).Length); // header + 2 kinds × 2 sites × (mean + 2 heads)
        foreach (var svg in new[] { "frame_map_layer_step_to_final.svg", "frame_map_prompts.svg", "frame_map_mean_blocks_1_attn1.svg", "tile_map_mean_blocks_0_attn1.svg" })
            Assert.True(System.IO.File.Exists(File("structure", svg)), svg);
        Assert.Contains("id=\"structure\"", System.IO.File.ReadAllText(File("index.html")));

        string saved = File("structure", "run", "cells", "maps_seed1.safetensors");
        var written = System.IO.File.GetLastWriteTimeUtc(saved);
        string before = System.IO.File.ReadAllText(File("structure", "summary.json"));
        Assert.Equal(0, Run(StructureCommand.Create(), args));
        Assert.Equal(written, System.IO.File.GetLastWriteTimeUtc(saved));
        Assert.Equal(before, System.IO.File.ReadAllText(File("structure", "summary.json")));
    }

    [Fact]
    public void Structure_with_the_random_init_null_reports_the_null_own_similarities_apart_from_the_model()
    {
        Assert.Equal(0, Run(StructureCommand.Create(), "--prompt", "a red circle moving left", "--prompt", "a blue square moving right",
            "--seeds", "1,2", "--random-init-null"));
        var json = JsonNode.Parse(System.IO.File.ReadAllText(File("structure", "summary.json")))!;
        Assert.StartsWith("random-init null of ", json["compare_model"]!.GetValue<string>());
        foreach (var site in json["kinds"]!["frame_map"]!.AsArray())
        {
            // different weights: the null's maps are not the model's
            double r = site!["head_average"]!["cross_model"]!["pearson"]!.GetValue<double>();
            Assert.True(r < 0.999, $"{site["site"]}: cross-model r {r}");
        }
        var compared = System.IO.File.ReadAllLines(File("structure", "summary_compare.csv"));
        Assert.Equal(System.IO.File.ReadAllLines(File("structure", "summary.csv"))[0], compared[0]);
        Assert.Equal(1 + 2 * 3, compared.Length); // header + 2 sites × (mean + 2 heads)
        Assert.NotEqual(System.IO.File.ReadAllLines(File("structure", "summary.csv"))[1], compared[1]);
        Assert.Contains("summary_compare.csv", System.IO.File.ReadAllText(File("index.html")));

        // the contrast's arms are the per-sample cross-prompt r of samples.csv averaged (2 prompts × 2 seeds, equal weights)
        var samples = System.IO.File.ReadAllLines(File("structure", "samples.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        var contrast = System.IO.File.ReadAllLines(File("structure", "compare_contrast.csv"));
        Assert.Equal(StructureContrast.Header, contrast[0]);
        Assert.Equal(1 + 2, contrast.Length); // frame maps of 2 sites
        foreach (var row in contrast.Skip(1).Select(l => l.Split(',')).Where(r => r[0] == "frame_map"))
        {
            double Mean(string arm) => samples.Where(x => x[0] == arm && x[4] == "frame_map" && x[5] == row[1]).Average(x => double.Parse(x[7], CultureInfo.InvariantCulture));
            double model = double.Parse(row[4], CultureInfo.InvariantCulture), null_ = double.Parse(row[7], CultureInfo.InvariantCulture);
            Assert.Equal("2", row[3]);
            Assert.Equal(Mean("maps"), model, 5);
            Assert.Equal(Mean("compare"), null_, 5);
            Assert.Equal(model - null_, double.Parse(row[10], CultureInfo.InvariantCulture), 5);
            Assert.InRange(model, double.Parse(row[5], CultureInfo.InvariantCulture), double.Parse(row[6], CultureInfo.InvariantCulture));
        }
        Assert.Throws<VDiTLensException>(() => Run(StructureCommand.Create(), "--random-init-null", "--compare-model", _model.Path));
    }

    [Fact]
    public void Edit_writes_the_side_by_side_video_contact_sheet_and_metrics()
    {
        Assert.Equal(0, Run(EditCommand.Create(), "--source-prompt", "a red circle moving left", "--target-prompt", "a blue circle moving left",
            "--step-range", "0..1", "--heads", "1", "--video-format", ".gif"));
        var gif = GifReader.Read(System.IO.File.ReadAllBytes(File("edit", "source_target_edited.gif")));
        Assert.Equal((26 * 4, 8 * 4, 5), (gif.Width, gif.Height, gif.Frames.Count));
        Assert.True(System.IO.File.Exists(File("edit", "contact_sheet.png")));
        var metrics = JsonNode.Parse(System.IO.File.ReadAllText(File("edit", "metrics.json")))!;
        Assert.Contains("steps 0..1", metrics["transfer"]!.GetValue<string>());
        Assert.InRange(metrics["metrics"]!["EditedSsim"]!.GetValue<double>(), -1, 1);
        Assert.Contains("id=\"edit\"", System.IO.File.ReadAllText(File("index.html")));
    }

    [Fact]
    public void Edit_study_writes_every_cell_and_resumes_without_recomputing()
    {
        // marked as trained on procedural clips, so the procedural evaluator's measures are taken too
        System.IO.File.WriteAllText(Path.Combine(_model.Path, VDiTLens.Training.PipelineWarmStart.TrainingFile), "{\"data\": \"VDiTLens.Procedural clips\"}");
        string[] args = { "--pair", "a red circle moving left => a blue circle moving left", "--test-seeds", "1,2" };
        Assert.Equal(0, Run(EditStudyCommand.Create(), args));
        var cells = Directory.GetFiles(File("edit-study", "run", "cells"), "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        var summary = JsonNode.Parse(System.IO.File.ReadAllText(File("edit-study", "summary.json")))!;
        string chosen = summary["selection"]!["Chosen"]!.GetValue<string>();
        // every band on dev seed 0, only the chosen band on held-out seeds 1 and 2
        Assert.Equal(new[] { "L0", "L1", "all" }.Select(b => $"{b}_pair0_seed0.json").Concat(new[] { 1, 2 }.Select(s => $"{chosen}_pair0_seed{s}.json")).Order(StringComparer.Ordinal), cells);
        Assert.Equal(new[] { "L0", "L1", "all" }, summary["bands"]!.AsArray().Select(b => b!["Band"]!.GetValue<string>()));
        Assert.All(summary["bands"]!.AsArray(), b => Assert.Equal(1, b!["Cells"]!.GetValue<int>())); // the band table: development seed 0 only
        Assert.Equal("independent", summary["target_noise"]!.GetValue<string>());
        Assert.Equal("clips", summary["evaluator"]!.GetValue<string>());
        Assert.Equal(2, summary["selection"]!["Test"]!["Samples"]!.GetValue<int>()); // 1 pair × 2 held-out seeds
        Assert.True(System.IO.File.Exists(File("edit-study", "preservation_adherence.svg")));
        Assert.True(System.IO.File.Exists(File("edit-study", "trajectory_distance.svg")));
        Assert.True(System.IO.File.Exists(File("edit-study", "ms_ssim.svg")));
        Assert.StartsWith("procedural evaluator", summary["measures"]![0]!.GetValue<string>());
        Assert.Equal(5, summary["measures"]!.AsArray().Count);
        Assert.All(summary["cells"]!.AsArray(), c => Assert.NotNull(c!["Metrics"]!["EditedSsim"]));
        Assert.Equal(4, System.IO.File.ReadAllLines(File("edit-study", "summary.csv")).Length);
        Assert.Equal(1 + 3 + 2, System.IO.File.ReadAllLines(File("edit-study", "samples.csv")).Length);
        Assert.Equal(1 + 6, System.IO.File.ReadAllLines(File("edit-study", "heldout.csv")).Length);

        // a finished cell is loaded, not recomputed; a deleted one is recomputed
        var kept = System.IO.File.GetLastWriteTimeUtc(File("edit-study", "run", "cells", "L0_pair0_seed0.json"));
        System.IO.File.Delete(File("edit-study", "run", "cells", $"{chosen}_pair0_seed2.json"));
        Assert.Equal(0, Run(EditStudyCommand.Create(), args));
        Assert.Equal(kept, System.IO.File.GetLastWriteTimeUtc(File("edit-study", "run", "cells", "L0_pair0_seed0.json")));
        Assert.True(System.IO.File.Exists(File("edit-study", "run", "cells", $"{chosen}_pair0_seed2.json")));
        Assert.Equal(summary["selection"]!.ToJsonString(), JsonNode.Parse(System.IO.File.ReadAllText(File("edit-study", "summary.json")))!["selection"]!.ToJsonString());

        // the target noise is a setting of the study: the folder refuses a run with the other one
        Assert.Throws<VDiTLensException>(() => Run(EditStudyCommand.Create(), args.Concat(new[] { "--target-noise", "same" }).ToArray()));
    }

    [Fact]
    public void Edit_study_on_a_scene_trained_model_runs_the_scene_pairs_and_writes_per_object_rows()
    {
        System.IO.File.WriteAllText(Path.Combine(_model.Path, VDiTLens.Training.PipelineWarmStart.TrainingFile), "{\"data\": \"VDiTLens.Procedural.Scenes.SceneDataset.Training\"}");
        Assert.Equal(0, Run(EditStudyCommand.Create(), "--no-all"));
        var summary = JsonNode.Parse(System.IO.File.ReadAllText(File("edit-study", "summary.json")))!;
        Assert.Equal("scenes", summary["evaluator"]!.GetValue<string>());
        Assert.Equal(ScenePairs.Build().Select(p => p.Source), summary["pairs"]!.AsArray().Select(p => p!["Source"]!.GetValue<string>()));
        int samples = 2 * 9 + 9 * 2; // bands L0, L1 × 9 scene pairs × dev seed 0, then the chosen band × 9 pairs × test seeds 1, 2
        Assert.Equal(1 + samples, System.IO.File.ReadAllLines(File("edit-study", "samples.csv")).Length);
        Assert.All(summary["cells"]!.AsArray(), c => Assert.NotNull(c!["Scene"]!["Objects"]));
        int objects = summary["cells"]!.AsArray().Sum(c => c!["Scene"]!["Objects"]!.AsArray().Count);
        Assert.True(objects >= 2 * samples, $"{objects} object rows"); // every scene pair has at least 2 objects
        Assert.Equal(1 + objects, System.IO.File.ReadAllLines(File("edit-study", "scene_objects.csv")).Length);
        Assert.StartsWith("edit success (scene evaluator", summary["selection"]!["Measure"]!.GetValue<string>());
        Assert.Equal(18, summary["selection"]!["Test"]!["Samples"]!.GetValue<int>()); // 9 pairs × 2 held-out seeds
        Assert.Contains("id=\"edit-study\"", System.IO.File.ReadAllText(File("index.html")));
    }

    [Fact]
    public void Edit_study_refuses_a_single_seed_and_a_leaking_split()
    {
        var seed = Assert.Throws<VDiTLensException>(() => Run(EditStudyCommand.Create(), "--seed", "3"));
        Assert.Contains("--dev-seeds", seed.Message);
        var overlap = Assert.Throws<VDiTLensException>(() => Run(EditStudyCommand.Create(), "--dev-seeds", "0,1", "--test-seeds", "1,2"));
        Assert.Contains("share seed(s) 1", overlap.Message);
    }

    public void Dispose()
    {
        _model.Dispose();
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }
}
