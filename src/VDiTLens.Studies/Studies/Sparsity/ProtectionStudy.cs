using System.Diagnostics;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Metrics;
using VDiTLens.Pipelines;
using VDiTLens.Studies.Scale;

namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// The held-out sparsity study (<see cref="ProtectionOptions"/>): selection on the development seeds, every arm
/// generated and measured on the held-out seeds only, per sample. Every generation is a cell of
/// <see cref="ProtectionPlan"/>, saved in <see cref="ProtectionCells"/> as soon as it is done: a stopped run resumes
/// where it stopped, shards of one study write into one folder, and the tables are built from the saved cells only, so
/// a resumed or merged run's tables equal an uninterrupted run's.
/// </summary>
public sealed class ProtectionStudy
{
    private readonly ITextToVideoPipeline _pipeline;
    private readonly GenerationRequest _request;
    private readonly ProtectionOptions _options;
    private readonly ProtectionCells _cells;
    private readonly Dictionary<long, GeneratedSample> _dense = new();
    private readonly string[] _sites;
    private ResNet18Features? _network;
    private CancellationToken _cancellation;

    public ProtectionStudy(ITextToVideoPipeline pipeline, GenerationRequest request, ProtectionOptions options, ProtectionCells cells)
    {
        _pipeline = pipeline;
        _request = request;
        _options = options;
        _cells = cells;
        _sites = pipeline.Sites.Where(s => s.Kind is AttentionKind.Self or AttentionKind.Joint).Select(s => s.Name).ToArray();
        Settings = new ProtectionSettings(_sites, options, request.Steps, request.GuidanceScale);
        Plan = new ProtectionPlan(Settings, cells);
        if (options.Ranking == RankingSource.Proxy && pipeline is not WanPipeline)
            throw new VDiTLensException($"Ranking {RankingSource.Proxy}: the proxy calls the Wan transformer directly and this is {pipeline.ClassName}; rank by {RankingSource.Generations}");
    }

    public ProtectionSettings Settings { get; }
    public ProtectionPlan Plan { get; }

    /// <summary>Cells computed by the last run, its cells that were saved before it started, and the generations it made.</summary>
    public int CellsComputed { get; private set; }
    public int CellsReused { get; private set; }
    public int Generations { get; private set; }

    /// <returns>The study, or null when <paramref name="maxNewCells"/> new cells were computed before its end (run again to go on).</returns>
    public ProtectionResult? Run(IProgress<ProtectionProgress>? progress = null, int? maxNewCells = null, CancellationToken cancellation = default)
    {
        var outcome = RunShard(Shard.All, progress, maxNewCells, cancellation);
        return outcome.Computed + outcome.AlreadyDone == outcome.Total ? Plan.Collect() : null;
    }

    /// <summary>
    /// Computes the shard's cells that are not saved yet and whose development cells are (in one process every cell a
    /// cell needs comes first in the plan, so one pass is enough; a shard leaves cells waiting for other shards' cells).
    /// </summary>
    public ShardOutcome RunShard(Shard shard, IProgress<ProtectionProgress>? progress = null, int? maxNewCells = null, CancellationToken cancellation = default)
    {
        _cancellation = cancellation;
        CellsComputed = CellsReused = Generations = 0;
        _cells.Record(Settings, replace: shard.IsAll);
        Plan.StudyPlan.Save(_cells.Folder);
        var mine = Plan.StudyPlan.Of(shard);
        var waiting = mine.Where(c => !Plan.IsDone(Plan.Cell(c.Id))).ToArray();
        CellsReused = mine.Count - waiting.Length;
        double pending = waiting.Sum(c => c.Cost), spentCost = 0, spentSeconds = 0;
        try
        {
            var outcome = ShardRunner.Run(Plan.StudyPlan, shard, c => Plan.IsDone(Plan.Cell(c.Id)), (planned, i, n) =>
            {
                var cell = Plan.Cell(planned.Id);
                TimeSpan? eta = spentCost > 0 ? TimeSpan.FromSeconds(spentSeconds / spentCost * pending) : null;
                progress?.Report(new ProtectionProgress(cell.Development ? "development" : "held-out", i, n, CellsComputed, planned.Description, eta));
                var clock = Stopwatch.StartNew();
                Compute(cell);
                spentSeconds += clock.Elapsed.TotalSeconds;
                spentCost += planned.Cost;
                pending -= planned.Cost;
                CellsComputed++;
            }, maxNewCells, cancellation, isReady: c => Plan.IsReady(Plan.Cell(c.Id)));
            if (outcome.Computed + outcome.AlreadyDone == outcome.Mine)
                progress?.Report(new ProtectionProgress("done", outcome.Mine, outcome.Mine, CellsComputed, "done", TimeSpan.Zero));
            return outcome;
        }
        finally
        {
            Release();
        }
    }

    /// <summary>Computes one planned cell when it is not saved (e.g. to time it); the cells it needs must be saved.</summary>
    public void ComputeOnly(string id)
    {
        var cell = Plan.Cell(id);
        if (!Plan.IsReady(cell)) throw new VDiTLensException($"cell '{id}' needs cells that are not saved yet ({string.Join(", ", cell.Planned.After)})");
        _cells.Record(Settings, replace: true);
        if (Plan.IsDone(cell)) return;
        try
        {
            Compute(cell);
        }
        finally
        {
            Release();
        }
    }

    private void Release()
    {
        foreach (var d in _dense.Values) d.Dispose();
        _dense.Clear();
        _network?.Dispose();
        _network = null;
    }

    private void Compute(ProtectionCell cell)
    {
        long seed = cell.Seed;
        switch (cell.Kind)
        {
            case ProtectionCellKind.Proxy:
            {
                var proxyOptions = new ProxyOptions { Methods = new[] { _options.Method }, Levels = _options.Levels, Samples = _options.ProxySamples, Sites = _sites };
                var calibrator = Plan.Calibrating ? Calibrator() : null;
                var result = SensitivityProxy.Run((WanPipeline)_pipeline, _request with { Seed = seed, BatchGuidance = false, Cancellation = _cancellation }, proxyOptions, null, calibrator);
                _cells.Save(cell.Planned.Id, new ProxyCellResult(
                    result.Cells.Select(c => new ProxyLayerLevel(Array.IndexOf(_sites, c.Site), c.Level, c.PerItem)).ToArray(),
                    calibrator?.Sums ?? Array.Empty<TemperatureSums>(), result.Forwards));
                break;
            }
            case ProtectionCellKind.Calibration:
            {
                var calibrator = Calibrator();
                var sample = Generate(seed, new IAttentionIntervention[] { calibrator });
                if (!_cells.HasDense(seed)) _cells.SaveDense(seed, sample);
                Remember(seed, sample);
                _cells.Save(cell.Planned.Id, new CalibrationCellResult(calibrator.Sums));
                break;
            }
            case ProtectionCellKind.Dense:
            {
                var sample = Generate(seed, Array.Empty<IAttentionIntervention>());
                _cells.SaveDense(seed, sample);
                Remember(seed, sample);
                break;
            }
            case ProtectionCellKind.Single:
            {
                using var sparse = Generate(seed, _options.Method.Build(cell.Level!.Value, new[] { _sites[cell.Layer] }));
                _cells.Save(cell.Planned.Id, SampleMetrics.LatentRelativeL2(Dense(seed).Latents, sparse.Latents));
                break;
            }
            case ProtectionCellKind.Arm:
            {
                var arm = Plan.ArmOf(cell)!;
                var g = arm.Generation!;
                using var sample = Generate(seed, g.Build(_sites, _options.Method));
                _cells.Save(arm.CellId, Metrics(seed).Rows(g.Kind, g.Level, Array.Empty<int>(), seed, sample).ToArray());
                break;
            }
            case ProtectionCellKind.OtherSeed:
                _cells.Save(cell.Planned.Id, Metrics(seed).Rows(ProtectionArms.OtherSeed, null, Array.Empty<int>(), seed, Dense(cell.NextSeed)).ToArray());
                break;
        }
    }

    /// <summary>The entropy-matching calibrator over the sampled steps of a dev trajectory, for the method's sparsifier at each level.</summary>
    private TemperatureCalibrator Calibrator()
    {
        var sparsifiers = _options.Levels.ToDictionary(level => level, level => ((SparseAttention)_options.Method.Build(level, _sites)[0]).Sparsifier);
        return new TemperatureCalibrator(sparsifiers,
            new AttentionSelector { Sites = _sites, Steps = SensitivityProxy.SampleSteps(_request.Steps, _options.CalibrationSteps) }, _options.CalibrationQueryStride);
    }

    private SampleMetrics Metrics(long seed)
    {
        if (_options.FeatureDistance) _network ??= ResNet18Features.Load();
        return new SampleMetrics(Dense(seed), _network);
    }

    /// <summary>The dense run of <paramref name="seed"/>, kept in memory once read.</summary>
    private GeneratedSample Dense(long seed)
    {
        if (_dense.TryGetValue(seed, out var sample)) return sample;
        sample = _cells.TryLoadDense(seed) ?? throw new VDiTLensException($"{_cells.Folder}: the dense run of seed {seed} is missing or unreadable");
        _dense[seed] = sample;
        return sample;
    }

    private void Remember(long seed, GeneratedSample sample)
    {
        if (_dense.Remove(seed, out var old)) old.Dispose();
        _dense[seed] = sample;
    }

    private GeneratedSample Generate(long seed, IReadOnlyList<IAttentionIntervention> interventions)
    {
        _cancellation.ThrowIfCancellationRequested();
        var attached = interventions.Select(i => _pipeline.Seam.Attach(i)).ToList();
        try
        {
            using var latents = _pipeline.Denoise(_request with { Seed = seed, Cancellation = _cancellation });
            var video = _pipeline.DecodeLatents(latents);
            Generations++;
            return new GeneratedSample(latents.to(torch.ScalarType.Float32).cpu().clone(), video);
        }
        finally
        {
            foreach (var a in attached) a.Dispose();
        }
    }
}
