using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using VDiTLens.Cli.Options;
using VDiTLens.Cli.Progress;
using VDiTLens.Pipelines;
using VDiTLens.Studies.Scale;
using VDiTLens.Studies.Sparsity;

namespace VDiTLens.Cli.Commands;

/// <summary>
/// The default of <c>vditlens sparsity</c>: the held-out study (<see cref="ProtectionStudy"/>): layer ranking (the proxy
/// on Wan folders) and entropy-matching temperatures on <c>--dev-seeds</c>, every arm on <c>--test-seeds</c>.
/// </summary>
internal sealed class SparsityHeldOutPass
{
    public Option<long[]> DevSeeds { get; } = ListOption.Longs("--dev-seeds", "held-out study: development seeds (layer ranking and temperatures are chosen on them only)", new long[] { 0 });
    public Option<long[]> TestSeeds { get; } = ListOption.Longs("--test-seeds", "held-out study: held-out seeds (every arm is reported on them only; at least 2)", new long[] { 1, 2 });
    public Option<double[]> Levels { get; } = ListOption.Doubles("--test-levels", "held-out study: sparsity levels of the arms (fixed in advance)", new[] { 0.7 });
    public Option<int> Protect { get; } = new("--protect") { Description = "held-out study: K layers kept dense (most sensitive, least sensitive, random)", DefaultValueFactory = _ => 1 };
    public Option<int> RandomDraws { get; } = new("--random-draws") { Description = "held-out study: draws of K random dense layers", DefaultValueFactory = _ => 2 };
    public Option<int> ControlSeed { get; } = new("--control-seed") { Description = "held-out study: seed of the random layer draws and random-key masks", DefaultValueFactory = _ => 0 };
    public Option<string?> RankBy { get; } = new("--rank-by") { Description = "held-out study: proxy (default on Wan folders) or generations (default otherwise)" };
    public Option<bool> ValidateProxy { get; } = new("--validate-proxy") { Description = "held-out study: also rank by generations on the dev seeds and report the proxy's Spearman correlation with them" };
    public Option<bool> DevOnly { get; } = new("--dev-only") { Description = "held-out study: stop after the development seeds (ranking, temperatures, validation)" };
    public Option<bool> FeatureDistance { get; } = new("--feature-distance") { Description = "held-out study: also the ResNet18 feature distance per sample (slow on a CPU)" };

    /// <summary>
    /// The held-out study's denoising steps when <c>--steps</c> is not given: half the model's (every arm and its dense
    /// reference share them, so the comparison stays matched; the generations are what cost, and a masked one costs
    /// several dense ones on a CPU). <c>--steps</c> sets any count, the model's own included.
    /// </summary>
    public static int DefaultSteps(int modelSteps) => Math.Max(1, modelSteps / 2);

    private Option[] All => new Option[] { DevSeeds, TestSeeds, Levels, Protect, RandomDraws, ControlSeed, RankBy, ValidateProxy, DevOnly, FeatureDistance };

    public void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
    }

    /// <summary>The held-out options given explicitly (they do not apply to the full sweep).</summary>
    public IEnumerable<string> Given(ParseResult result) => All.Where(o => result.GetResult(o) is { Implicit: false }).Select(o => o.Name);

    public ProtectionOptions Options(ParseResult result, ITextToVideoPipeline pipeline, IReadOnlyList<SweepMethod> methods, int proxySamples)
    {
        if (methods.Count != 1)
            throw new VDiTLensException($"the held-out study runs one method; --config lists {methods.Count} (use --full-sweep to compare methods)");
        var ranking = result.GetValue(RankBy) switch
        {
            null => pipeline is WanPipeline ? RankingSource.Proxy : RankingSource.Generations,
            "proxy" => RankingSource.Proxy,
            "generations" => RankingSource.Generations,
            var other => throw new VDiTLensException($"--rank-by {other}: use proxy or generations"),
        };
        return new ProtectionOptions
        {
            Method = methods[0],
            Levels = result.GetValue(Levels)!,
            DevSeeds = result.GetValue(DevSeeds)!,
            TestSeeds = result.GetValue(TestSeeds)!,
            KeepDense = result.GetValue(Protect),
            RandomDraws = result.GetValue(RandomDraws),
            ControlSeed = result.GetValue(ControlSeed),
            Ranking = ranking,
            ValidateProxy = result.GetValue(ValidateProxy),
            DevOnly = result.GetValue(DevOnly),
            ProxySamples = proxySamples,
            FeatureDistance = result.GetValue(FeatureDistance),
        };
    }

    /// <param name="modelId">The model and how it runs (path, device, dtype): the results folder's cells belong to it.</param>
    public void Run(ITextToVideoPipeline pipeline, GenerationRequest request, ProtectionOptions options, string outPath, string modelId, int? maxNewCells, bool fresh, Shard shard)
    {
        string runFolder = ProtectionCells.RunFolder(outPath);
        if (fresh && !shard.IsAll)
            throw new VDiTLensException($"--fresh with --shard {shard}: one shard cannot discard the folder the others write to; clear {runFolder} before starting the shards");
        if (fresh && Directory.Exists(runFolder)) Directory.Delete(runFolder, recursive: true);
        var cells = ProtectionCells.Open(runFolder, modelId, request, options.Method);
        var study = new ProtectionStudy(pipeline, request, options, cells);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var outcome = study.RunShard(shard, new SynchronousProgress<ProtectionProgress>(p =>
        {
            string eta = p.Remaining is { } t ? $", ETA {t:hh\\:mm\\:ss}" : "";
            AnsiConsole.WriteLine($"[{clock.Elapsed.TotalSeconds,6:F0} s] {p.Phase} cells {p.Done}/{p.Total}{eta} · {p.Current}");
        }), maxNewCells);
        if (!shard.IsAll)
        {
            ShardSummary.Print(shard, outcome, runFolder, outPath);
            return;
        }
        if (outcome.Computed + outcome.AlreadyDone < outcome.Total)
        {
            AnsiConsole.WriteLine($"stopped after {study.CellsComputed} new cells ({study.CellsReused} were saved before) in {runFolder}; run the same command again to go on");
            return;
        }
        AnsiConsole.WriteLine($"{study.CellsComputed} cells computed ({study.Generations} generations), {study.CellsReused} read from {runFolder}, in {clock.Elapsed.TotalSeconds:F0} s");
        Report(outPath, requireComplete: false);
    }

    /// <summary>The held-out study's tables from the cells in <paramref name="outPath"/> (also what <c>merge</c> runs); lists missing cells.</summary>
    public static int Report(string outPath, bool requireComplete)
    {
        var cells = ProtectionCells.Existing(ProtectionCells.RunFolder(outPath));
        var plan = new ProtectionPlan(cells.LoadSettings(), cells);
        var missing = plan.Missing();
        if (plan.Collect() is not { } result)
        {
            AnsiConsole.WriteLine("held-out sparsity study: the development cells are not all saved yet, so no arm can be reported");
            return ShardSummary.Missing("sparsity (held-out)", plan.Cells.Count, missing, requireComplete);
        }
        var summary = ProtectionSummary.Of(result.Samples, result.Options.Bootstrap);
        var files = ProtectionReport.Write(outPath, result, summary);
        Summarise(result, summary);
        AnsiConsole.WriteLine($"{result.Generations} generations and {result.ProxyForwards} proxy forwards in the study's cells; " +
            $"wrote {string.Join(", ", files.Select(Path.GetFileName))} under {Path.Combine(outPath, SparsityReport.Folder)}");
        return ShardSummary.Missing("sparsity (held-out)", plan.Cells.Count, missing, requireComplete);
    }

    /// <summary>
    /// Runs the study's own code in a scratch folder on the first held-out seed's dense run and its all-masked arm at the
    /// first level (every stage: text encoding, denoising, decoding, metrics, saving) and the summary of that arm's rows,
    /// then scales the arm's time by the plan's costs (one generation plus half a generation for the share of masked layers).
    /// </summary>
    public static void DryRun(ITextToVideoPipeline pipeline, GenerationRequest request, ProtectionOptions options, string modelId, Shard shard, double loadSeconds)
    {
        var scratch = Directory.CreateTempSubdirectory("vditlens-dry-run-");
        try
        {
            var cells = ProtectionCells.Open(ProtectionCells.RunFolder(scratch.FullName), modelId, request, options.Method);
            var study = new ProtectionStudy(pipeline, request, options, cells);
            var plan = study.Plan;
            long seed = options.TestSeeds[0];
            string dense = ProtectionCells.DenseId(seed);
            var masked = plan.Cells.First(c => c.Kind == ProtectionCellKind.Arm && c.Seed == seed && c.Arm == ProtectionArms.AllMasked);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            study.ComputeOnly(dense);
            double denseSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            study.ComputeOnly(masked.Planned.Id);
            double cellSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var rows = cells.Get<SampleRow[]>(plan.ArmOf(masked)!.CellId);
            ProtectionSummary.Of(rows.Select(r => r with { Arm = ProtectionArms.AllMasked }).ToArray(), options.Bootstrap);
            // the summary bootstraps every arm's rows: its time grows with the arm cells
            double reportSeconds = clock.Elapsed.TotalSeconds * plan.Cells.Count(c => c.Kind is ProtectionCellKind.Arm or ProtectionCellKind.OtherSeed);
            AnsiConsole.WriteLine($"the dense run of seed {seed}: {denseSeconds:F2} s (cost 1 in the plan)");
            Estimate.Print(plan.StudyPlan, new CellTiming(loadSeconds, 0, cellSeconds, masked.Planned.Cost, reportSeconds), shard, pipeline.Options.Device.ToString());
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static string F(double v) => v.ToString("G3", CultureInfo.InvariantCulture);

    private static void Summarise(ProtectionResult result, ProtectionSummary summary)
    {
        var dev = result.Dev;
        AnsiConsole.WriteLine($"development seeds {string.Join(",", result.Options.DevSeeds)}: ranking by {dev.Source}, most sensitive first: " +
            string.Join(", ", dev.Ranking.Select(r => $"layer {r.Layer} ({F(r.Score)})")));
        if (dev.Validation is { } v)
            AnsiConsole.WriteLine($"proxy vs generations: Spearman {v.Spearman} over {v.Cells.Count} (layer, level) cells");
        foreach (var t in dev.Temperatures)
            AnsiConsole.WriteLine($"entropy-matching τ at {F(t.Level)}, {t.Site}: {string.Join(" ", t.Taus.Select(F))}{(t.ClampedHeadCalls > 0 ? $" ({t.ClampedHeadCalls} head-calls at a bound)" : "")}");
        foreach (var note in result.Notes) AnsiConsole.WriteLine(note);
        if (result.Samples.Count == 0) return;
        var table = new Table().AddColumns("arm", "level", "dense layers", "latent rel L2 (95% CI)", "PSNR dB (95% CI)", "normalised (latent)", "normalised (PSNR)");
        foreach (var group in summary.Means.GroupBy(m => (m.Arm, m.Level)))
        {
            string Cell(string metric) => group.FirstOrDefault(m => m.Metric == metric)?.Mean is { } e ? $"{F(e.Value)} [{F(e.Low)}, {F(e.High)}]" : "–";
            string Norm(string metric) => summary.Normalised.FirstOrDefault(n => n.Arm == group.Key.Arm && n.Level == group.Key.Level && n.Metric == metric)?.Value is { } e
                ? $"{F(e.Value)} [{F(e.Low)}, {F(e.High)}]" : "–";
            string layers = result.Samples.First(s => s.Arm == group.Key.Arm && s.Level == group.Key.Level).DenseLayers;
            table.AddRow(new[] { group.Key.Arm, group.Key.Level is { } l ? F(l) : "–", layers, Cell("latent_rel_l2"), Cell("psnr_db"), Norm("latent_rel_l2"), Norm("psnr_db") }
                .Select(Markup.Escape).ToArray());
        }
        AnsiConsole.Write(table);
        var contrasts = new Table().AddColumns("paired contrast (held-out samples)", "level", "metric", "difference (95% CI)");
        foreach (var c in summary.Contrasts)
            contrasts.AddRow(new[] { c.Name, F(c.Level), c.Metric, $"{F(c.Difference.Value)} [{F(c.Difference.Low)}, {F(c.Difference.High)}] (n = {c.Difference.N})" }
                .Select(Markup.Escape).ToArray());
        AnsiConsole.Write(contrasts);
    }
}
