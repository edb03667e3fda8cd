using VDiTLens.Attention;
using VDiTLens.Interventions;
using VDiTLens.Pipelines;
using VDiTLens.Reports;
using VDiTLens.Runtime;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.Sinks;
using VDiTLens.Studies.Sinks.Statistics;
using VDiTLens.Tests.Pipelines;

namespace VDiTLens.Tests.Studies.Sinks;

/// <summary>
/// The sink study as cells in a results folder, on the random pixel-space pipeline with a planted sink: three shards,
/// one killed in the middle of a generation and run again, then a second pass for the arms whose baseline another
/// shard generated, write exactly the files of the whole study run in one process (<see cref="SinkStudy"/>), with no
/// cell computed twice or missing.
/// </summary>
public sealed class SinkRunTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("vditlens-sinkrun-").FullName;

    private sealed class Killed : Exception;

    /// <summary>Throws when the second generation it sees has finished its first step, as a kill in the middle of a cell would stop it.</summary>
    private sealed class KillInSecondGeneration : IProgress<GenerationProgress>
    {
        private int _firstSteps;

        public void Report(GenerationProgress p)
        {
            if (p.Completed == 1 && ++_firstSteps == 2) throw new Killed();
        }
    }

    [Fact]
    public void Three_shards_with_a_killed_one_write_the_files_of_the_study_in_one_process()
    {
        TorchRuntime.Initialise();
        using var model = new PixelSpacePipeline();
        using var pipeline = WanPipeline.Load(model.Path, ComputeOptions.Cpu32);
        using var plant = pipeline.Seam.Attach(new PlantedSink(13, 8, new AttentionSelector { Sites = new[] { "blocks.1.attn1" } }));
        var options = new SinkStudyOptions
        {
            Template = new GenerationRequest { Steps = 2, Frames = 3, Height = 8, Width = 8, GuidanceScale = 2, MaxSequenceLength = 6 },
            Prompts = new[] { "a red circle moving left", "a blue square moving right" },
            Seeds = new long[] { 1, 2 },
            Criteria = new SinkCriteria(RatioThreshold: 8, Epsilon: 0.3, TopK: 3),
            AblationModes = new[] { SinkAblationMode.Mask },
            Taus = new[] { 0.5 },
        };

        string whole = Path.Combine(_root, "whole");
        var reference = new SinkStudyReport(new HtmlReport(whole));
        new SinkStudy(pipeline, options).Run((baselines, r) => reference.AddStudy(new SinkFindings("tiny", pipeline.Sites, options.Criteria, baselines,
            r.Detection, r.Characterisation, r.Ablations, r.Temperatures, r.Samples, TextKeyClusters.Find(pipeline, options.Template, options.Prompts))));
        reference.Write();

        string sharded = Path.Combine(_root, "sharded");
        var settings = SinkSettings.Of(options, "tiny", "tiny|cpu|float32");
        var folder = SinkRun.Open(SinkRun.RunFolder(sharded), settings);
        var plan = SinkRun.Plan(settings);
        Assert.Equal(4 + 1 + 1 + 2 * 4 + 1 * 4, plan.Cells.Count); // baselines, text keys, characterisation, 2 ablation arms and τ = 0.5 per run

        var killing = options with { Template = options.Template with { Progress = new KillInSecondGeneration() } };
        Assert.Throws<Killed>(() => SinkRun.RunShard(folder, pipeline, killing, settings, new Shard(0, 3)));
        Assert.Single(Directory.GetFiles(folder.Cells)); // the first cell whole, nothing of the second (no temporary file either)

        var runs = new List<ShardOutcome> { SinkRun.RunShard(folder, pipeline, options, settings, new Shard(0, 3)) };
        Assert.Equal(1, runs[0].AlreadyDone);
        for (int pass = 0; pass < 2; pass++)
            for (int i = pass == 0 ? 1 : 0; i < 3; i++)
                runs.Add(SinkRun.RunShard(folder, pipeline, options, settings, new Shard(i, 3)));
        Assert.True(runs.Take(3).Sum(r => r.Waiting) > 0, "some arms waited for a baseline of another shard");
        Assert.Equal(plan.Cells.Count - 1, runs.Sum(r => r.Computed)); // every cell once: the killed run saved one
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(0, SinkRun.RunShard(folder, pipeline, options, settings, new Shard(i, 3)).Computed));
        Assert.Equal(plan.Cells.Count, Directory.GetFiles(folder.Cells).Length);

        using (var outcome = SinkRun.Collect(SinkRun.RunFolder(sharded)))
        {
            Assert.Empty(outcome.Missing);
            var report = new SinkStudyReport(new HtmlReport(sharded));
            report.AddStudy(outcome.Findings);
            report.Write();
        }
        var files = Directory.GetFiles(Path.Combine(whole, "sinks"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(whole, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Contains(Path.Combine("sinks", "characterisation.json"), files);
        Assert.Contains(Path.Combine("sinks", "samples.csv"), files);
        Assert.Equal(files, Directory.GetFiles(Path.Combine(sharded, "sinks"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(sharded, f)).Where(f => !f.StartsWith(Path.Combine("sinks", "run"), StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        foreach (var file in files.Append("index.html"))
            Assert.True(File.ReadAllText(Path.Combine(whole, file)) == File.ReadAllText(Path.Combine(sharded, file)), $"{file} differs");
        // the planted sink is found and its ablation changes the output
        Assert.Contains("blocks.1.attn1", File.ReadAllText(Path.Combine(sharded, "sinks", "detection.json")));
        Assert.Equal(1 + 2 * 4 + 2 * 4, File.ReadAllLines(Path.Combine(sharded, "sinks", "samples.csv")).Length); // 2 ablation arms, τ = 1 and 0.5, 4 runs each
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); }
        catch (IOException) { }
    }
}
