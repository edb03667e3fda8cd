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
/// <see cref="ProtectionCells"/>, saved as soon as it is done: a stopped run resumes where it stopped, and the tables
/// are built from the saved cells only, so a resumed run's tables equal an uninterrupted run's.
/// </summary>
public sealed partial class ProtectionStudy(ITextToVideoPipeline pipeline, GenerationRequest request, ProtectionOptions options, ProtectionCells cells)
{
    private int _generations, _proxyForwards;
    private readonly List<string> _notes = new();
    private readonly Dictionary<long, GeneratedSample> _dense = new();
    private string[] _sites = Array.Empty<string>();
    private ResNet18Features? _network;
    private CancellationToken _cancellation;

    /// <summary>A cell of the plan: its cost in generations, whether it is saved, and how to compute and save it.</summary>
    private sealed record Step(string Id, string Description, double Cost, Func<bool> IsDone, Action Compute);

    /// <summary>A held-out row group: an arm at a level on one seed, and the generation it reads (null: the other-seed arm).</summary>
    private sealed record ArmSample(long Seed, string Arm, double? Level, IReadOnlyList<int> DenseLayers, ArmGeneration? Generation, string CellId);

    /// <summary>Cells computed by the last <see cref="Run"/>, and those it found saved.</summary>
    public int CellsComputed { get; private set; }
    public int CellsReused { get; private set; }

    /// <returns>The study, or null when <paramref name="maxNewCells"/> new cells were computed before its end (run again to go on).</returns>
    public ProtectionResult? Run(IProgress<ProtectionProgress>? progress = null, int? maxNewCells = null, CancellationToken cancellation = default)
    {
        options.Validate();
        _cancellation = cancellation;
        var clock = Stopwatch.StartNew();
        _sites = pipeline.Sites.Where(s => s.Kind is AttentionKind.Self or AttentionKind.Joint).Select(s => s.Name).ToArray();
        if (_sites.Length < 2) throw new VDiTLensException($"the model has {_sites.Length} self-attention site(s); the study needs at least 2 layers to keep some dense");
        if (options.KeepDense >= _sites.Length)
            throw new VDiTLensException($"KeepDense {options.KeepDense}: the model has {_sites.Length} self-attention layers; keep fewer dense than that");
        try
        {
            var calibration = options.TemperatureArm ? CalibrationSparsifiers() : null;
            if (!RunCells("development", DevelopmentSteps(calibration), progress, maxNewCells, cancellation)) return null;
            var dev = Select(calibration is not null);
            var samples = new List<SampleRow>();
            if (!options.DevOnly)
            {
                var arms = Arms(dev);
                if (!RunCells("held-out", TestSteps(arms), progress, maxNewCells - CellsComputed, cancellation)) return null;
                samples = arms.SelectMany(a => cells.Get<SampleRow[]>(a.CellId).Select(r =>
                    r with { Arm = a.Arm, Level = a.Level, DenseLayers = string.Join(" ", a.DenseLayers) })).ToList();
            }
            return new ProtectionResult(_sites, options, dev, samples, _generations, _proxyForwards, clock.Elapsed, _notes);
        }
        finally
        {
            foreach (var d in _dense.Values) d.Dispose();
            _dense.Clear();
            _network?.Dispose();
        }
    }

    /// <summary>Runs the steps not saved yet in order (each once); false when the budget of new cells ran out first.</summary>
    private bool RunCells(string phase, IReadOnlyList<Step> steps, IProgress<ProtectionProgress>? progress, int? maxNewCells, CancellationToken cancellation)
    {
        var unique = steps.GroupBy(s => s.Id).Select(g => g.First()).ToArray();
        var byId = unique.ToDictionary(s => s.Id);
        var done = unique.Where(s => s.IsDone()).Select(s => s.Id).ToHashSet();
        CellsReused += done.Count;
        double pending = unique.Where(s => !done.Contains(s.Id)).Sum(s => s.Cost), spentCost = 0, spentSeconds = 0;
        var plan = new StudyPlan("sparsity-protection", unique.Select(s => new PlannedCell(s.Id, s.Description, s.Cost, Array.Empty<string>())).ToList(),
            request.Steps, DenseGenerations: 0);
        var outcome = ShardRunner.Run(plan, Shard.All, c => done.Contains(c.Id), (cell, i, n) =>
        {
            var step = byId[cell.Id];
            TimeSpan? eta = spentCost > 0 ? TimeSpan.FromSeconds(spentSeconds / spentCost * pending) : null;
            progress?.Report(new ProtectionProgress(phase, i, n, CellsComputed, step.Description, eta));
            var clock = Stopwatch.StartNew();
            step.Compute();
            spentSeconds += clock.Elapsed.TotalSeconds;
            spentCost += step.Cost;
            pending -= step.Cost;
            CellsComputed++;
        }, maxNewCells, cancellation);
        bool complete = outcome.Computed + outcome.AlreadyDone == unique.Length;
        if (complete) progress?.Report(new ProtectionProgress(phase, unique.Length, unique.Length, CellsComputed, "done", TimeSpan.Zero));
        return complete;
    }

    // ---- held-out seeds: the arms ----

    private List<ArmSample> Arms(DevSelection dev)
    {
        var arms = new List<ArmSample>();
        var all = Enumerable.Range(0, _sites.Length).ToArray();
        void Add(long seed, string arm, double level, IReadOnlyList<int> denseLayers, ArmGeneration generation) =>
            arms.Add(new ArmSample(seed, arm, level, denseLayers, generation, generation.Id(seed, options.FeatureDistance)));
        for (int i = 0; i < options.TestSeeds.Count; i++)
        {
            long seed = options.TestSeeds[i], next = options.TestSeeds[(i + 1) % options.TestSeeds.Count];
            var floor = new ArmGeneration(ArmGeneration.NoiseFloor, 0, all);
            arms.Add(new ArmSample(seed, ProtectionArms.NoiseFloor, null, Array.Empty<int>(), floor, floor.Id(seed, options.FeatureDistance)));
            arms.Add(new ArmSample(seed, ProtectionArms.OtherSeed, null, Array.Empty<int>(), null, OtherSeedId(seed, next)));
            foreach (double level in options.Levels)
            {
                ArmGeneration Masked(IReadOnlyList<int> denseLayers) => new(ArmGeneration.Masking, level, all.Except(denseLayers).ToArray());
                Add(seed, ProtectionArms.AllMasked, level, Array.Empty<int>(), Masked(Array.Empty<int>()));
                Add(seed, ProtectionArms.SensitiveDense, level, dev.Sensitive, Masked(dev.Sensitive));
                Add(seed, ProtectionArms.LeastSensitiveDense, level, dev.LeastSensitive, Masked(dev.LeastSensitive));
                for (int d = 0; d < dev.RandomDense.Count; d++)
                    Add(seed, ProtectionArms.RandomDensePrefix + d, level, dev.RandomDense[d], Masked(dev.RandomDense[d]));
                if (options.RandomKeyArm && options.Method.Type == "bottom_k")
                    Add(seed, ProtectionArms.RandomKeys, level, Array.Empty<int>(),
                        new ArmGeneration(ArmGeneration.RandomKeys, level, all, KeySeed: options.ControlSeed * 1_000_003L + seed));
                if (dev.Temperatures.Count > 0)
                    Add(seed, ProtectionArms.AllMaskedTemperature, level, Array.Empty<int>(),
                        new ArmGeneration(ArmGeneration.Temperature, level, all, Temperatures: dev.Temperatures));
            }
        }
        if (options.RandomKeyArm && options.Method.Type != "bottom_k")
            _notes.Add($"no random-key arm: equal-count random masking is the control of bottom_k, and the method is {options.Method.Type}");
        return arms;
    }

    private string OtherSeedId(long seed, long next) => $"other_seed{seed}_vs{next}" + (options.FeatureDistance ? "_rn18" : "");

    private List<Step> TestSteps(IReadOnlyList<ArmSample> arms)
    {
        var steps = options.TestSeeds.Select(DenseStep).ToList();
        foreach (var a in arms)
        {
            if (a.Generation is { } g)
                steps.Add(new Step(a.CellId, $"held-out seed {a.Seed}: {g.Kind}{(a.Level is { } l ? $" at {l}" : "")}, layers [{string.Join(" ", g.Masked)}]", 1,
                    () => cells.Has<SampleRow[]>(a.CellId), () =>
                    {
                        using var sample = Generate(a.Seed, g.Build(_sites, options.Method));
                        cells.Save(a.CellId, Metrics(a.Seed).Rows(g.Kind, g.Level, Array.Empty<int>(), a.Seed, sample).ToArray());
                    }));
            else
            {
                long next = options.TestSeeds[(options.TestSeeds.ToList().IndexOf(a.Seed) + 1) % options.TestSeeds.Count];
                steps.Add(new Step(a.CellId, $"held-out seed {a.Seed}: against the dense run of seed {next}", 0.05, () => cells.Has<SampleRow[]>(a.CellId),
                    () => cells.Save(a.CellId, Metrics(a.Seed).Rows(ProtectionArms.OtherSeed, null, Array.Empty<int>(), a.Seed, Dense(next)).ToArray())));
            }
        }
        return steps;
    }

    private SampleMetrics Metrics(long seed)
    {
        if (options.FeatureDistance) _network ??= ResNet18Features.Load();
        return new SampleMetrics(Dense(seed), _network);
    }

    // ---- generations ----

    private Step DenseStep(long seed) =>
        new(ProtectionCells.DenseId(seed), $"seed {seed}: dense", 1, () => cells.HasDense(seed), () =>
        {
            var sample = Generate(seed, Array.Empty<IAttentionIntervention>());
            cells.SaveDense(seed, sample);
            Remember(seed, sample);
        });

    /// <summary>The dense run of <paramref name="seed"/>, kept in memory once read.</summary>
    private GeneratedSample Dense(long seed)
    {
        if (_dense.TryGetValue(seed, out var sample)) return sample;
        sample = cells.TryLoadDense(seed) ?? throw new VDiTLensException($"{cells.Folder}: the dense run of seed {seed} is missing or unreadable");
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
        var attached = interventions.Select(i => pipeline.Seam.Attach(i)).ToList();
        try
        {
            using var latents = pipeline.Denoise(request with { Seed = seed, Cancellation = _cancellation });
            var video = pipeline.DecodeLatents(latents);
            _generations++;
            return new GeneratedSample(latents.to(torch.ScalarType.Float32).cpu().clone(), video);
        }
        finally
        {
            foreach (var a in attached) a.Dispose();
        }
    }
}
