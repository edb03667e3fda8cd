using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Metrics;
using VDiTLens.Probes;
using VDiTLens.Procedural;
using VDiTLens.Studies.Scale;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sparsity;

/// <summary>Sweep progress: <see cref="Done"/> of <see cref="Total"/> cells finished (resumed ones included), and the estimated time left.</summary>
public sealed record SweepProgress(int Done, int Total, int Computed, TimeSpan Elapsed, TimeSpan? Remaining, SweepCell? Current);

/// <summary>
/// The sweep's outcome: every finished cell in the folder in table order (those of other shards included), the planned
/// total, and what this run did: <see cref="Computed"/> new cells, <see cref="Waiting"/> of its cells left for a later run
/// because the single-layer cells they are ranked from are not all finished yet.
/// </summary>
public sealed record SweepOutcome(
    IReadOnlyList<string> Sites, SparsityProfile Profile, double? DenseAccuracy,
    IReadOnlyList<SweepCellResult> Results, int Total, int Computed, bool DenseGenerated, int Waiting = 0)
{
    public bool Complete => Results.Count == Total;
}

/// <summary>
/// Runs the sensitivity sweep in a folder: the dense reference (cached), then every planned cell that is not yet on
/// disk, each saved the moment it finishes (<see cref="CellStore"/>). Restarting after a kill recomputes nothing that
/// was saved and ends with the same table. Uniform cells with K &gt; 0 dense layers are planned after the
/// single-layer cells they are ranked from.
/// </summary>
public sealed class SparsitySweep
{
    public const string SettingsFile = "sweep.json";

    private readonly string _folder;
    private readonly ISweepGenerator _generator;
    private readonly SweepOptions _options;

    public CellStore Store { get; }

    public SparsitySweep(string folder, ISweepGenerator generator, SweepOptions options)
    {
        options.Validate();
        _folder = folder;
        _generator = generator;
        _options = options;
        Directory.CreateDirectory(folder);
        CheckSettings();
        Store = new CellStore(Path.Combine(folder, "cells"));
    }

    public SweepOutcome Run(IProgress<SweepProgress>? progress = null, CancellationToken cancellation = default)
    {
        using var dense = DenseReference.LoadOrCreate(_folder, _generator, _options.CoverageStride, cancellation, out bool denseGenerated);
        var profile = new SparsityProfile(dense.Sites, dense.Probes);
        double? denseAccuracy = Accuracy(dense.Video);
        var sites = dense.Sites;
        if (_options.ProfileOnly)
            return new SweepOutcome(sites, profile, denseAccuracy, Array.Empty<SweepCellResult>(), 0, 0, denseGenerated);

        var cells = PlanCells(_options, sites);
        var plan = Plan(_options, cells, sites.Count, _generator.ForwardsPerGeneration);
        plan.Save(_folder);
        var owners = plan.Owners(_options.Shard.Count);
        var mine = cells.Where(c => owners[c.Cell.Id] == _options.Shard.Index).ToList();

        // Every finished cell of the folder, whichever shard made it: uniform cells are ranked from all single-layer cells.
        var results = new Dictionary<SweepCell, SweepCellResult>();
        foreach (var (cell, _) in cells)
            if (Store.TryLoad(cell) is { } done) results[cell] = done;
        int total = mine.Count, computed = 0, waiting = 0;
        var clock = Stopwatch.StartNew();
        double computeSeconds = 0;

        void Report(SweepCell? current)
        {
            int doneOfMine = mine.Count(c => results.ContainsKey(c.Cell));
            progress?.Report(new SweepProgress(doneOfMine, total, computed, clock.Elapsed,
                computed == 0 ? null : TimeSpan.FromSeconds(computeSeconds / computed * (total - doneOfMine - waiting)), current));
        }

        Report(null);
        foreach (var (cell, fixedSites) in mine)
        {
            if (results.ContainsKey(cell)) continue;
            var sparsified = fixedSites ?? RankedSparsified(cell, sites, results);
            if (sparsified is null) { waiting++; continue; }
            if (_options.MaxNewCells is { } max && computed >= max) break;
            cancellation.ThrowIfCancellationRequested();
            Report(cell);
            var result = Compute(cell, sparsified, dense, cancellation);
            Store.Save(result);
            results[cell] = result;
            computed++;
            computeSeconds += result.Seconds;
            Report(null);
        }
        return new SweepOutcome(sites, profile, denseAccuracy, Order(results.Values, _options.Methods.Select(m => m.Name).ToList()),
            cells.Count, computed, denseGenerated, waiting);
    }

    /// <summary>
    /// The sweep from whatever is in <paramref name="folder"/> (the dense reference, the plan and the finished cells of
    /// every shard), without a model; the plan's cells that have no result are <paramref name="missing"/>.
    /// </summary>
    public static SweepOutcome Collect(string folder, out IReadOnlyList<PlannedCell> missing)
    {
        var plan = StudyPlan.TryLoad(folder)
            ?? throw new VDiTLensException($"{Path.Combine(folder, StudyPlan.FileName)}: no plan yet (no shard of this sweep has planned its cells)");
        using var dense = DenseReference.Load(folder);
        var store = new CellStore(Path.Combine(folder, "cells"));
        var found = store.LoadAll().ToDictionary(r => r.Cell.Id, StringComparer.Ordinal);
        var results = plan.Cells.Where(c => found.ContainsKey(c.Id)).Select(c => found[c.Id]).ToList();
        missing = plan.Cells.Where(c => !found.ContainsKey(c.Id)).ToArray();
        var methods = results.Select(r => r.Cell.Method).Distinct().ToList(); // plan order: methods appear in the order they were given
        return new SweepOutcome(dense.Sites, new SparsityProfile(dense.Sites, dense.Probes), null, Order(results, methods), plan.Cells.Count, 0, false);
    }

    /// <summary>Table order: method (as planned), mode, layer (K for uniform), level.</summary>
    private static SweepCellResult[] Order(IEnumerable<SweepCellResult> results, List<string> methods) => results
        .OrderBy(r => methods.IndexOf(r.Cell.Method) is var i and >= 0 ? i : int.MaxValue).ThenBy(r => SweepMode.Order(r.Cell.Mode))
        .ThenBy(r => r.Cell.Layer).ThenBy(r => r.Cell.Level).ToArray();

    /// <summary>
    /// Every cell of the sweep in plan order, with the sites it sparsifies; null for uniform cells with K &gt; 0, whose
    /// sites come from the single-layer ranking once those cells are finished.
    /// </summary>
    private static List<(SweepCell Cell, IReadOnlyList<string>? Sparsified)> PlanCells(SweepOptions options, IReadOnlyList<string> sites)
    {
        var plan = PlanFirst(options, SweptLayers(options, sites), sites).Select(p => (p.Cell, (IReadOnlyList<string>?)p.Sparsified)).ToList();
        if (options.Modes.Contains(SweepMode.Uniform))
            foreach (var method in options.Methods)
            foreach (int k in options.KeepDense)
            foreach (double level in options.Levels)
                plan.Add((new SweepCell(method.Name, SweepMode.Uniform, k, level), k == 0 ? sites : null));
        return plan;
    }

    /// <summary>The plan with costs: a generation, plus half a generation for the sparsified share of the layers (sparse attention and its meters).</summary>
    /// <summary>The sweep's plan over these self-attention sites (what <c>--dry-run</c> shows), without running anything.</summary>
    public static StudyPlan Plan(SweepOptions options, IReadOnlyList<string> sites, int forwardsPerGeneration)
    {
        options.Validate();
        return options.ProfileOnly ? new StudyPlan("sparsity", Array.Empty<PlannedCell>(), forwardsPerGeneration, 1, DenseReferenceCost)
            : Plan(options, PlanCells(options, sites), sites.Count, forwardsPerGeneration);
    }

    private static StudyPlan Plan(SweepOptions options, IReadOnlyList<(SweepCell Cell, IReadOnlyList<string>? Sparsified)> cells, int siteCount, int forwardsPerGeneration) => new("sparsity",
        cells.Select(c =>
        {
            int sparsified = c.Sparsified?.Count ?? siteCount - c.Cell.Layer;
            var after = c.Sparsified is null
                ? cells.Where(o => o.Cell.Method == c.Cell.Method && o.Cell.Mode == SweepMode.Single).Select(o => o.Cell.Id).ToArray()
                : Array.Empty<string>();
            return new PlannedCell(c.Cell.Id, c.Cell.ToString(), CellCost(sparsified, siteCount), after);
        }).ToArray(),
        forwardsPerGeneration, DenseGenerations: 1, DenseCost: DenseReferenceCost);

    /// <summary>
    /// The dense reference in plain generations: it runs the entropy and top-k coverage probes on every self-attention
    /// call, ≈ 3.3 × a plain forward with the fused probes (benchmarks.md, Wan2.1-1.3B).
    /// </summary>
    public const double DenseReferenceCost = 3.3;

    public static double CellCost(int sparsifiedSites, int siteCount) => 1.0 + 0.5 * sparsifiedSites / Math.Max(1, siteCount);

    /// <summary>A uniform cell's sparsified sites: all but the K most sensitive layers, once every single-layer cell of its method is finished.</summary>
    private IReadOnlyList<string>? RankedSparsified(SweepCell cell, IReadOnlyList<string> sites, IReadOnlyDictionary<SweepCell, SweepCellResult> results)
    {
        var singles = PlanFirst(_options, SweptLayers(_options, sites), sites).Where(p => p.Cell.Method == cell.Method && p.Cell.Mode == SweepMode.Single).ToList();
        if (singles.Any(p => !results.ContainsKey(p.Cell))) return null;
        var keep = SensitivityRanking.MostSensitive(results.Values, cell.Method, cell.Layer);
        return sites.Where((_, i) => !keep.Contains(i)).ToArray();
    }

    /// <summary>Layer indices swept in single and leave-one-out modes (all, or those matching <see cref="SweepOptions.Sites"/>).</summary>
    private static int[] SweptLayers(SweepOptions options, IReadOnlyList<string> sites)
    {
        if (options.Sites.Count == 0) return Enumerable.Range(0, sites.Count).ToArray();
        var filter = new AttentionSelector { Sites = options.Sites };
        var layers = Enumerable.Range(0, sites.Count)
            .Where(i => filter.Accepts(new AttentionCall(new AttentionSite(sites[i], i, AttentionKind.Self, sites[i]), new AttentionRunState(), 1, TokenLayout.Text(0), TokenLayout.Text(0))))
            .ToArray();
        if (layers.Length == 0)
            throw new VDiTLensException($"Sites {string.Join(",", options.Sites)}: matches no self-attention site (sites: {sites[0]} … {sites[^1]})");
        return layers;
    }

    private static List<(SweepCell Cell, IReadOnlyList<string> Sparsified)> PlanFirst(SweepOptions options, int[] layers, IReadOnlyList<string> sites)
    {
        var plan = new List<(SweepCell, IReadOnlyList<string>)>();
        foreach (var method in options.Methods)
        foreach (var mode in new[] { SweepMode.Single, SweepMode.LeaveOneOut }.Where(options.Modes.Contains))
        foreach (int layer in layers)
        foreach (double level in options.Levels)
        {
            IReadOnlyList<string> sparsified = mode == SweepMode.Single
                ? new[] { sites[layer] }
                : sites.Where((_, i) => i != layer).ToArray();
            plan.Add((new SweepCell(method.Name, mode, layer, level), sparsified));
        }
        return plan;
    }

    private SweepCellResult Compute(SweepCell cell, IReadOnlyList<string> sparsified, DenseReference dense, CancellationToken cancellation)
    {
        var method = _options.Methods.First(m => m.Name == cell.Method);
        var clock = Stopwatch.StartNew();
        var interventions = sparsified.Count == 0 ? Array.Empty<IAttentionIntervention>() : method.Build(cell.Level, sparsified);
        var attached = interventions.Select(i => _generator.Seam.Attach(i)).ToList();
        GeneratedSample sample;
        try
        {
            sample = _generator.Generate(cancellation);
        }
        finally
        {
            foreach (var a in attached) a.Dispose();
        }
        using (sample)
        {
            var meters = interventions.OfType<ISparseIntervention>().Select(s => s.Density).ToArray();
            double? density = meters.Length == 1 ? meters[0].Overall : null;
            var bySite = meters.Length == 1 ? meters[0].BySite.ToDictionary(kv => kv.Key, kv => kv.Value) : new Dictionary<string, double>();
            return new SweepCellResult(cell, sparsified, density, bySite,
                RelativeL2.Of(dense.Latents, sample.Latents),
                Psnr.MeanOverVideos(dense.Video, sample.Video),
                Ssim.OfVideo(dense.Video, sample.Video),
                Accuracy(sample.Video),
                clock.Elapsed.TotalSeconds);
        }
    }

    /// <summary>Share of clips the evaluator judges to match their prompt's spec, or null without specs.</summary>
    private double? Accuracy(Tensor video)
    {
        if (_generator.Specs is not { } specs) return null;
        if (specs.Count != video.shape[0])
            throw new VDiTLensException($"{specs.Count} procedural specs for {video.shape[0]} generated videos; give one spec per prompt");
        int correct = 0;
        for (int i = 0; i < specs.Count; i++)
        {
            using var scope = torch.NewDisposeScope();
            var clip = video[i].permute(0, 3, 1, 2) * 2 - 1; // [F, 3, H, W] in [-1, 1]
            if (ClipEvaluator.Evaluate(clip).Matches(specs[i])) correct++;
        }
        return (double)correct / specs.Count;
    }

    private void CheckSettings()
    {
        string path = Path.Combine(_folder, SettingsFile);
        var settings = new SortedDictionary<string, string>(_generator.Fingerprint.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal)
        {
            ["methods"] = JsonSerializer.Serialize(_options.Methods),
        };
        if (File.Exists(path))
        {
            var previous = JsonSerializer.Deserialize<SortedDictionary<string, string>>(File.ReadAllText(path)) ?? new();
            var changed = settings.Keys.Union(previous.Keys).Where(k => settings.GetValueOrDefault(k) != previous.GetValueOrDefault(k)).ToArray();
            if (changed.Length > 0)
            {
                if (!_options.Fresh)
                    throw new VDiTLensException(
                        $"{path}: this folder holds a sweep made with other settings ({string.Join(", ", changed)} differ); use another --out, or --fresh to discard it");
                foreach (var stale in new[] { Path.Combine(_folder, "cells") }.Where(Directory.Exists)) Directory.Delete(stale, recursive: true);
                File.Delete(Path.Combine(_folder, DenseReference.FileName));
            }
        }
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(settings, new JsonSerializerOptions { WriteIndented = true }));
    }
}
