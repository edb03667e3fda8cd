using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Metrics;
using VDiTLens.Probes;
using VDiTLens.Procedural;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sparsity;

/// <summary>Sweep progress: <see cref="Done"/> of <see cref="Total"/> cells finished (resumed ones included), and the estimated time left.</summary>
public sealed record SweepProgress(int Done, int Total, int Computed, TimeSpan Elapsed, TimeSpan? Remaining, SweepCell? Current);

/// <summary>The sweep's outcome: every finished cell in table order, and whether all planned cells are done.</summary>
public sealed record SweepOutcome(
    IReadOnlyList<string> Sites, SparsityProfile Profile, double? DenseAccuracy,
    IReadOnlyList<SweepCellResult> Results, int Total, int Computed, bool DenseGenerated)
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

        var swept = SweptLayers(sites);
        var first = PlanFirst(swept, sites);
        int uniformPerMethod = _options.Modes.Contains(SweepMode.Uniform) ? _options.KeepDense.Count * _options.Levels.Count : 0;
        int total = first.Count + _options.Methods.Count * uniformPerMethod;

        var results = new Dictionary<SweepCell, SweepCellResult>();
        int computed = 0;
        var clock = Stopwatch.StartNew();
        double computeSeconds = 0;
        bool stopped = false;

        void Report(SweepCell? current) => progress?.Report(new SweepProgress(results.Count, total, computed, clock.Elapsed,
            computed == 0 ? null : TimeSpan.FromSeconds(computeSeconds / computed * (total - results.Count)), current));

        bool RunCell(SweepCell cell, IReadOnlyList<string> sparsified)
        {
            if (Store.TryLoad(cell) is { } done)
            {
                results[cell] = done;
                return true;
            }
            if (_options.MaxNewCells is { } max && computed >= max) return false;
            cancellation.ThrowIfCancellationRequested();
            Report(cell);
            var result = Compute(cell, sparsified, dense, cancellation);
            Store.Save(result);
            results[cell] = result;
            computed++;
            computeSeconds += result.Seconds;
            Report(null);
            return true;
        }

        Report(null);
        foreach (var (cell, sparsified) in first)
            if (!RunCell(cell, sparsified)) { stopped = true; break; }

        if (!stopped && _options.Modes.Contains(SweepMode.Uniform))
            foreach (var method in _options.Methods)
            {
                foreach (int k in _options.KeepDense)
                {
                    var keep = k == 0 ? Array.Empty<int>() : SensitivityRanking.MostSensitive(results.Values, method.Name, k);
                    var sparsified = sites.Where((_, i) => !keep.Contains(i)).ToArray();
                    foreach (double level in _options.Levels)
                        if (!RunCell(new SweepCell(method.Name, SweepMode.Uniform, k, level), sparsified)) { stopped = true; break; }
                    if (stopped) break;
                }
                if (stopped) break;
            }

        var ordered = results.Values.OrderBy(r => MethodIndex(r.Cell.Method)).ThenBy(r => SweepMode.Order(r.Cell.Mode))
            .ThenBy(r => r.Cell.Layer).ThenBy(r => r.Cell.Level).ToArray();
        return new SweepOutcome(sites, profile, denseAccuracy, ordered, total, computed, denseGenerated);
    }

    private int MethodIndex(string name)
    {
        for (int i = 0; i < _options.Methods.Count; i++) if (_options.Methods[i].Name == name) return i;
        return int.MaxValue;
    }

    /// <summary>Layer indices swept in single and leave-one-out modes (all, or those matching <see cref="SweepOptions.Sites"/>).</summary>
    private int[] SweptLayers(IReadOnlyList<string> sites)
    {
        if (_options.Sites.Count == 0) return Enumerable.Range(0, sites.Count).ToArray();
        var filter = new ProbeFilter { Sites = _options.Sites };
        var layers = Enumerable.Range(0, sites.Count)
            .Where(i => filter.Accepts(new AttentionCall(new AttentionSite(sites[i], i, AttentionKind.Self, sites[i]), new AttentionRunState(), 1, TokenLayout.Text(0), TokenLayout.Text(0))))
            .ToArray();
        if (layers.Length == 0)
            throw new VDiTLensException($"--sites {string.Join(",", _options.Sites)} matches no self-attention site (sites: {sites[0]} … {sites[^1]})");
        return layers;
    }

    private List<(SweepCell Cell, IReadOnlyList<string> Sparsified)> PlanFirst(int[] layers, IReadOnlyList<string> sites)
    {
        var plan = new List<(SweepCell, IReadOnlyList<string>)>();
        foreach (var method in _options.Methods)
        foreach (var mode in new[] { SweepMode.Single, SweepMode.LeaveOneOut }.Where(_options.Modes.Contains))
        foreach (int layer in layers)
        foreach (double level in _options.Levels)
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
