using VDiTLens.Cli;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Cli;

/// <summary>
/// The study verbs other than the sparsity sweep, sharded on the embedded model (tiny settings, CPU): two shards into one
/// folder, then merge, give byte-identical tables to the unsharded run; a finished shard run again computes nothing. The
/// sink study's arms wait for their baseline when another shard generates it, the held-out sparsity study's ranked
/// arms for its development cells and the edit study's held-out cells for the band chosen on its development cells,
/// so their shards run twice.
/// </summary>
[Collection(VDiTLens.Tests.TestSupport.ConsoleCollection.Name)]
public sealed class ShardedStudiesCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vditlens-sharded-").FullName;

    private (int Code, string Out) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        output.WriteLine(stdout.ToString());
        output.WriteLine(stderr.ToString());
        Assert.True(code == 0, $"vditlens {string.Join(" ", args)} exited {code}: {stderr}");
        return (code, stdout.ToString());
    }

    private static readonly string[] Tiny = { "--steps", "2", "--device", "cpu", "--dtype", "float32" };

    /// <summary>Runs the verb unsharded into one folder, as two shards and a merge into another; the given tables of both.</summary>
    private (string Whole, string Sharded) Both(string verb, string[] args)
    {
        string whole = Path.Combine(_dir, verb + "-whole"), sharded = Path.Combine(_dir, verb + "-sharded");
        var common = new[] { verb }.Concat(args).Concat(Tiny).ToArray();
        Cli(common.Concat(new[] { "--out", whole }).ToArray());
        Assert.DoesNotContain("shard 0/2: 0 cells computed", Cli(common.Concat(new[] { "--out", sharded, "--shard", "0/2" }).ToArray()).Out);
        var (_, partial) = Cli("merge", "--out", sharded);
        Assert.Contains("missing", partial);
        Cli(common.Concat(new[] { "--out", sharded, "--shard", "1/2" }).ToArray());
        Assert.Contains("shard 1/2: 0 cells computed", Cli(common.Concat(new[] { "--out", sharded, "--shard", "1/2" }).ToArray()).Out);
        var (_, merged) = Cli("merge", "--out", sharded);
        Assert.DoesNotContain("missing", merged);
        return (whole, sharded);
    }

    [Fact]
    public void Structure_two_shards_merge_to_the_unsharded_tables()
    {
        var (whole, sharded) = Both("structure", new[] { "--prompt", "a red circle moving right", "--prompt", "a blue square moving left", "--seeds", "0,1,2" });
        foreach (var file in new[] { "summary.csv", "summary.json", "samples.csv" })
            Assert.Equal(File.ReadAllText(Path.Combine(whole, "structure", file)), File.ReadAllText(Path.Combine(sharded, "structure", file)));

        // Every sample is compared with as many others, so the mean over samples is the site's summary (written apart).
        var samples = Table(Path.Combine(whole, "structure", "samples.csv"));
        var summary = Table(Path.Combine(whole, "structure", "summary.csv")).Where(r => r["head"] == "mean").ToList();
        Assert.Equal(2 * 3 * summary.Count, samples.Count); // 2 prompts × 3 seeds per site
        foreach (var site in summary)
            foreach (var group in new[] { "cross_prompt", "cross_seed", "cross_step" })
            {
                double mean = samples.Where(r => r["site"] == site["site"]).Average(r => double.Parse(r[group + "_r"], System.Globalization.CultureInfo.InvariantCulture));
                Assert.Equal(double.Parse(site[group + "_pearson"], System.Globalization.CultureInfo.InvariantCulture), mean, 4);
            }
    }

    /// <summary>A CSV without quoted commas in the read columns, as header → value rows (quoted prompts are skipped over).</summary>
    private static List<Dictionary<string, string>> Table(string path)
    {
        static string[] Split(string line) => System.Text.RegularExpressions.Regex.Split(line, ",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)");
        var lines = File.ReadAllLines(path);
        var header = Split(lines[0]);
        return lines.Skip(1).Select(l => header.Zip(Split(l)).ToDictionary(x => x.First, x => x.Second)).ToList();
    }

    [Fact]
    public void Structure_dry_run_times_one_cell_and_writes_nothing()
    {
        string folder = Path.Combine(_dir, "dry");
        var (_, text) = Cli(new[] { "structure", "--prompt", "a red circle moving right", "--seeds", "0,1,2", "--shard", "0/2", "--dry-run", "--out", folder }.Concat(Tiny).ToArray());
        // 3 cells (one per seed), each one call of 2 steps × 2 guidance branches
        Assert.Matches(@"estimate: cells=3 generations=3 forwards=12 seconds=\d", text);
        Assert.Contains("over 2 shards the longest takes", text);
        Assert.False(Directory.Exists(folder), "a dry run writes nothing in --out");
    }

    [Fact]
    public void Text_ablation_two_shards_merge_to_the_unsharded_table()
    {
        var (whole, sharded) = Both("text-ablation", new[] { "--prompts", "2", "--seeds", "0" });
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "text-ablation", "text_ablation.csv")), File.ReadAllText(Path.Combine(sharded, "text-ablation", "text_ablation.csv")));
        Assert.Equal(1 + 2 * 2, File.ReadAllLines(Path.Combine(whole, "text-ablation", "text_ablation.csv")).Length); // header + 2 prompts × 1 seed × 2 arms
    }

    [Fact]
    public void Edit_study_two_shards_and_a_second_pass_merge_to_the_unsharded_tables()
    {
        string whole = Path.Combine(_dir, "edit-whole"), sharded = Path.Combine(_dir, "edit-sharded");
        var common = new[] { "edit-study", "--pair", "a red circle moving left => a blue circle moving left", "--band", "2" }.Concat(Tiny).ToArray();
        Cli(common.Concat(new[] { "--out", whole }).ToArray());
        string Shard(int i) => Cli(common.Concat(new[] { "--out", sharded, "--shard", $"{i}/2" }).ToArray()).Out;
        var first = Shard(0);
        Assert.Contains("wait for other shards' cells", first); // held-out cells of the band chosen on the other shard's dev cells too
        Assert.Contains("pass 1 lacks", Cli("merge", "--out", sharded).Out); // a choice from part of pass 1 is said to be one
        Shard(1);
        var (_, partial) = Cli("merge", "--out", sharded);
        Assert.Contains("missing", partial);
        Assert.DoesNotContain("pass 1 lacks", partial);
        Shard(0);
        Shard(1);
        Assert.Contains("shard 0/2: 0 cells computed", Shard(0));
        Assert.Contains("shard 1/2: 0 cells computed", Shard(1));
        var (_, merged) = Cli("merge", "--out", sharded);
        Assert.DoesNotContain("missing", merged);
        foreach (var file in new[] { "summary.csv", "summary.json", "samples.csv", "heldout.csv" })
            Assert.Equal(File.ReadAllText(Path.Combine(whole, "edit-study", file)), File.ReadAllText(Path.Combine(sharded, "edit-study", file)));
        Assert.Equal(1 + 3, File.ReadAllLines(Path.Combine(whole, "edit-study", "summary.csv")).Length); // header + bands L0-1, L2-3, all
        // pass 1: 3 bands × dev seed 0; pass 2: the chosen band × held-out seeds 1, 2
        Assert.Equal(3 + 2, Directory.GetFiles(Path.Combine(sharded, "edit-study", "run", "cells"), "*.json").Length);
    }

    /// <summary>2 prompts × 1 seed, one ablation mode and one temperature, measured at block 1's self- and cross-attention only (fast).</summary>
    private static readonly string[] SinkArgs =
    {
        "sinks", "--prompt", "a red circle moving right", "--prompt", "a blue square moving left", "--seeds", "0", "--ablation", "mask", "--tau", "0.5",
        "--sites", "blocks.1.*",
    };

    [Fact]
    public void Sinks_two_shards_and_a_second_pass_merge_to_the_unsharded_tables()
    {
        string whole = Path.Combine(_dir, "sinks-whole"), sharded = Path.Combine(_dir, "sinks-sharded");
        var common = SinkArgs.Concat(Tiny).ToArray();
        Cli(common.Concat(new[] { "--out", whole }).ToArray());
        string Shard(int i) => Cli(common.Concat(new[] { "--out", sharded, "--shard", $"{i}/2" }).ToArray()).Out;
        var first = Shard(0) + Shard(1);
        Assert.Contains("wait for other shards' cells", first); // arms whose baseline the other shard generated
        var (_, partial) = Cli("merge", "--out", sharded);
        Assert.Contains("missing", partial);
        Shard(0);
        Shard(1);
        Assert.Contains("shard 0/2: 0 cells computed", Shard(0));
        Assert.Contains("shard 1/2: 0 cells computed", Shard(1));
        var (_, merged) = Cli("merge", "--out", sharded);
        Assert.DoesNotContain("missing", merged);
        foreach (var file in new[] { "detection.json", "sinks_per_step.csv", "statistics.json", "statistics_per_step.csv", "characterisation.json",
                     "ablation.csv", "temperature.csv", "samples.csv" })
            Assert.Equal(File.ReadAllText(Path.Combine(whole, "sinks", file)), File.ReadAllText(Path.Combine(sharded, "sinks", file)));
        Assert.Equal(1 + 2 * 2 + 2 * 2, File.ReadAllLines(Path.Combine(whole, "sinks", "samples.csv")).Length); // 2 ablation arms, τ = 1 and 0.5, 2 runs each
    }

    [Fact]
    public void Sinks_and_edit_study_dry_runs_time_one_cell_and_write_nothing()
    {
        string folder = Path.Combine(_dir, "dry");
        var (_, sinks) = Cli(SinkArgs.Concat(Tiny).Concat(new[] { "--shard", "0/2", "--dry-run", "--out", folder }).ToArray());
        // 2 baselines, the text keys, the characterisation, 2 ablation arms and τ = 0.5 for each of the 2 runs; each 2 steps × 2 guidance branches
        Assert.Matches(@"estimate: cells=10 generations=10 forwards=40 seconds=\d", sinks);
        Assert.Contains("over 2 shards the longest takes", sinks);
        var (_, edit) = Cli(new[] { "edit-study", "--pair", "a red circle moving left => a blue circle moving left", "--band", "2", "--dry-run", "--out", folder }.Concat(Tiny).ToArray());
        // pass 1: 3 bands × 1 pair × dev seed 0; pass 2: the chosen band × 1 pair × held-out seeds 1, 2
        Assert.Contains("pass 1: 3 cells", edit);
        Assert.Contains("pass 2: 2 cells", edit);
        Assert.Matches(@"estimate: cells=5 generations=5 forwards=20 seconds=\d", edit);
        Assert.False(Directory.Exists(folder), "a dry run writes nothing in --out");
    }

    [Fact]
    public void Submit_runs_sinks_and_edit_study_in_two_passes()
    {
        string sinks = Path.Combine(_dir, "submit-sinks"), edit = Path.Combine(_dir, "submit-edit");
        var (_, slurm) = Cli("submit", "slurm", "--shards", "3", "--", "sinks", "--seeds", "0", "--out", sinks);
        Assert.Contains("submitted twice", slurm); // the arms wait for baselines another shard generates
        Assert.Contains($"sinks --seeds 0 --out {sinks} --shard \"${{SLURM_ARRAY_TASK_ID}}/3\"", File.ReadAllText(Path.Combine(sinks, "slurm", "shards.sbatch")));
        Cli("submit", "k8s", "--shards", "3", "--container-image", "vditlens:test", "--claim", "results", "--", "sinks", "--seeds", "0", "--out", sinks);
        Assert.True(File.Exists(Path.Combine(sinks, "k8s", "shards-phase2.yaml")));

        var (_, twice) = Cli("submit", "slurm", "--shards", "3", "--", "edit-study", "--band", "2", "--out", edit);
        Assert.Contains("submitted twice", twice); // the held-out cells wait for the band chosen on every shard's dev cells
        var (_, k8s) = Cli("submit", "k8s", "--shards", "3", "--container-image", "vditlens:test", "--claim", "results", "--", "edit-study", "--band", "2", "--out", edit);
        Assert.Contains("edit-study --band 2", File.ReadAllText(Path.Combine(edit, "k8s", "shards.yaml")));
        Assert.Contains("edit-study --band 2", File.ReadAllText(Path.Combine(edit, "k8s", "shards-phase2.yaml")));
        Assert.Contains("job/vditlens-phase2", k8s);
    }

    /// <summary>
    /// The held-out sparsity study (the default of the verb) on the random 2-layer pixel-space pipeline, whose masked
    /// generations take milliseconds: 1 prompt, 1 step, level 0.5, K = 1, one random draw, the proxy at one step.
    /// </summary>
    private static string[] HeldOutArgs(string model) =>
    [
        "sparsity", "--model", model, "--prompt", "a red circle moving left", "--steps", "1", "--frames", "3", "--height", "8", "--width", "12",
        "--max-sequence-length", "8", "--guidance", "3", "--device", "cpu", "--dtype", "float32",
        "--test-levels", "0.5", "--random-draws", "1", "--proxy-samples", "1",
    ];

    [Fact]
    public void Held_out_sparsity_two_shards_and_a_second_pass_merge_to_the_unsharded_tables()
    {
        using var model = new VDiTLens.Tests.Pipelines.PixelSpacePipeline();
        string whole = Path.Combine(_dir, "heldout-whole"), sharded = Path.Combine(_dir, "heldout-sharded");
        var common = HeldOutArgs(model.Path);
        Cli(common.Concat(new[] { "--out", whole }).ToArray());
        string Shard(int i) => Cli(common.Concat(new[] { "--out", sharded, "--shard", $"{i}/2" }).ToArray()).Out;
        var first = Shard(0) + Shard(1);
        Assert.Contains("wait for other shards' cells", first); // arms ranked from the proxy cell the other shard computed
        var (_, partial) = Cli("merge", "--out", sharded);
        Assert.Contains("missing", partial);
        Shard(0);
        Shard(1);
        Assert.Contains("shard 0/2: 0 cells computed", Shard(0));
        var (_, merged) = Cli("merge", "--out", sharded);
        Assert.DoesNotContain("missing", merged);
        foreach (var file in new[] { "protection_samples.csv", "protection_summary.csv", "protection_ranking.csv", "protection.json" })
            Assert.Equal(File.ReadAllText(Path.Combine(whole, "sparsity", file)), File.ReadAllText(Path.Combine(sharded, "sparsity", file)));
        // noise floor, other seed, all masked, sensitive, least sensitive, 1 random draw, random keys, τ: × 1 prompt × 2 held-out seeds
        Assert.Equal(1 + 8 * 2, File.ReadAllLines(Path.Combine(whole, "sparsity", "protection_samples.csv")).Length);

        string dry = Path.Combine(_dir, "heldout-dry");
        var (_, estimate) = Cli(common.Concat(new[] { "--shard", "0/2", "--dry-run", "--out", dry }).ToArray());
        // the proxy, 2 dense runs, and per held-out seed 8 arm cells; each counted as a generation of 1 step × 2 guidance branches
        Assert.Matches(@"estimate: cells=19 generations=19 forwards=38 seconds=\d", estimate);
        Assert.Contains("over 2 shards the longest takes", estimate);
        Assert.False(Directory.Exists(dry), "a dry run writes nothing in --out");
        // without --steps the study runs half the model's steps (the pipeline's default 50): 19 cells × 25 steps × 2 branches
        var defaultSteps = common.Where((a, i) => a != "--steps" && (i == 0 || common[i - 1] != "--steps")).ToArray();
        Assert.Matches(@"estimate: cells=19 generations=19 forwards=950 seconds=\d", Cli(defaultSteps.Concat(new[] { "--dry-run", "--out", dry }).ToArray()).Out);

        var (_, slurm) = Cli("submit", "slurm", "--shards", "3", "--", "sparsity", "--out", sharded);
        Assert.Contains("submitted twice", slurm); // the arms wait for the development cells another shard computes
        Cli("submit", "k8s", "--shards", "3", "--container-image", "vditlens:test", "--claim", "results", "--", "sparsity", "--out", sharded);
        Assert.True(File.Exists(Path.Combine(sharded, "k8s", "shards-phase2.yaml")));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); }
        catch (IOException) { }
    }
}
