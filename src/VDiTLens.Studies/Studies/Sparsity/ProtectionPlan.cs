using System.Text.Json;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Studies.Scale;

namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// What every shard of a held-out study shares and what merging reads (<c>study.json</c>): the model's self-attention
/// sites, the options, and the generation's steps and guidance (the proxy's and the cells' costs).
/// </summary>
public sealed record ProtectionSettings(IReadOnlyList<string> Sites, ProtectionOptions Options, int Steps, double GuidanceScale)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public int ForwardsPerGeneration => Steps * (GuidanceScale > 1 ? 2 : 1);

    public string ToJson() => JsonSerializer.Serialize(this, CellStore.Json);
}

public enum ProtectionCellKind
{
    /// <summary>A dev seed's teacher-forced proxy pass (with the temperature calibration when the study calibrates).</summary>
    Proxy,
    /// <summary>A dev seed's dense generation with the temperature calibrator attached (ranking by generations); it also saves the dense run.</summary>
    Calibration,
    Dense,
    /// <summary>A dev seed's generation with one layer masked at one level.</summary>
    Single,
    /// <summary>An arm of a held-out seed (at a level); what it generates may come from the dev selection.</summary>
    Arm,
    /// <summary>A held-out seed's dense run against the next held-out seed's (d_seed); no generation of its own.</summary>
    OtherSeed,
}

/// <summary>
/// One planned cell of the held-out study. Arm cells are named by their role (seed, arm, level); the generation a role
/// reads (<see cref="ArmSample.CellId"/>) is known once the development cells it needs are saved, and roles that make
/// the same generation read one cell.
/// </summary>
public sealed record ProtectionCell(PlannedCell Planned, ProtectionCellKind Kind, long Seed)
{
    public bool Development { get; init; }
    public int Layer { get; init; }
    public double? Level { get; init; }
    public string Arm { get; init; } = "";
    public long NextSeed { get; init; }
}

/// <summary>A held-out row group: an arm at a level on one seed, and the cell it reads (null generation: the other-seed arm).</summary>
public sealed record ArmSample(long Seed, string Arm, double? Level, IReadOnlyList<int> DenseLayers, ArmGeneration? Generation, string CellId);

/// <summary>
/// The held-out study's cells in plan order, without a model: the development cells (proxy or single-layer generations,
/// temperature calibration, dense runs of the dev seeds), then the held-out seeds' dense runs, arms and seed spreads.
/// Cells of the sensitive, least-sensitive and temperature arms need every development cell (their
/// <see cref="PlannedCell.After"/>); every held-out cell needs its seed's dense run. From the saved cells it makes the
/// dev selection and the per-sample rows (<see cref="Collect()"/>), the same whichever process saved them.
/// </summary>
public sealed class ProtectionPlan
{
    public const string Study = "sparsity-protection";

    private readonly ProtectionCells _cells;
    private DevSelection? _selection;

    public ProtectionSettings Settings { get; }
    public IReadOnlyList<ProtectionCell> Cells { get; }
    public StudyPlan StudyPlan { get; }
    /// <summary>The arms run an entropy-matched temperature (the option is on and the method selects keys).</summary>
    public bool Calibrating { get; }
    public IReadOnlyList<string> Notes { get; }
    /// <summary>The draws of K random dense layers: seeded by the control seed, independent of any result.</summary>
    public IReadOnlyList<IReadOnlyList<int>> RandomDense { get; }

    private ProtectionOptions O => Settings.Options;
    private IReadOnlyList<string> Sites => Settings.Sites;
    private readonly Dictionary<string, ProtectionCell> _byId;

    public ProtectionPlan(ProtectionSettings settings, ProtectionCells cells)
    {
        settings.Options.Validate();
        if (settings.Sites.Count < 2) throw new VDiTLensException($"the model has {settings.Sites.Count} self-attention site(s); the study needs at least 2 layers to keep some dense");
        if (settings.Options.KeepDense >= settings.Sites.Count)
            throw new VDiTLensException($"KeepDense {settings.Options.KeepDense}: the model has {settings.Sites.Count} self-attention layers; keep fewer dense than that");
        Settings = settings;
        _cells = cells;
        var notes = new List<string>();
        Calibrating = O.TemperatureArm && SelectsKeys(notes);
        if (O.RandomKeyArm && O.Method.Type != "bottom_k")
            notes.Add($"no random-key arm: equal-count random masking is the control of bottom_k, and the method is {O.Method.Type}");
        Notes = notes;
        RandomDense = Enumerable.Range(0, O.RandomDraws).Select(d =>
        {
            var random = new Random(O.ControlSeed * 7919 + d);
            return (IReadOnlyList<int>)Enumerable.Range(0, Sites.Count).OrderBy(_ => random.Next()).Take(O.KeepDense).OrderBy(l => l).ToArray();
        }).ToArray();
        Cells = Plan();
        _byId = Cells.ToDictionary(c => c.Planned.Id, StringComparer.Ordinal);
        StudyPlan = new StudyPlan(Study, Cells.Select(c => c.Planned).ToList(), settings.ForwardsPerGeneration, DenseGenerations: 0);
    }

    private bool SelectsKeys(List<string> notes)
    {
        if (O.Levels.All(level => O.Method.Build(level, Sites).FirstOrDefault() is SparseAttention)) return true;
        notes.Add($"no temperature arm: method '{O.Method.Name}' ({O.Method.Type}) is not a key-selection sparsifier");
        return false;
    }

    // ---- names ----

    private string CalibrationKey => $"{O.CalibrationQueryStride}|{O.CalibrationSteps}";
    private string LevelsKey => string.Join(",", O.Levels.Select(ProtectionCells.R));

    public string ProxyId(long seed) =>
        $"proxy_seed{seed}_" + ProtectionCells.Hash($"{LevelsKey}|{O.ProxySamples}|{(Calibrating ? CalibrationKey : "none")}");

    public string CalibrationId(long seed) => $"calibration_seed{seed}_" + ProtectionCells.Hash($"{LevelsKey}|{CalibrationKey}");

    public static string SingleId(long seed, int layer, double level) => $"single_seed{seed}_L{layer}_{ProtectionCells.R(level)}";

    private string OtherSeedId(long seed, long next) => $"other_seed{seed}_vs{next}" + (O.FeatureDistance ? "_rn18" : "");

    /// <summary>An arm cell's name in the plan: its role. The generation it reads is named by what it generates (<see cref="ArmGeneration.Id"/>).</summary>
    private static string RoleId(long seed, string arm, double? level) => $"seed{seed}_{arm}" + (level is { } l ? "_" + ProtectionCells.R(l) : "");

    // ---- the plan ----

    /// <summary>Cost in plain generations: one generation plus half a generation for the share of masked layers (masked attention and its selection).</summary>
    private double MaskedCost(int maskedLayers) => 1 + 0.5 * maskedLayers / Sites.Count;

    private List<ProtectionCell> Plan()
    {
        var cells = new List<ProtectionCell>();
        void Add(ProtectionCell cell)
        {
            if (cells.All(c => c.Planned.Id != cell.Planned.Id)) cells.Add(cell);
        }
        foreach (long seed in O.DevSeeds)
        {
            string? denseOf = null;
            if (O.Ranking == RankingSource.Proxy)
            {
                var proxy = new ProxyOptions { Methods = new[] { O.Method }, Levels = O.Levels, Samples = O.ProxySamples, Sites = Sites };
                var request = new Pipelines.GenerationRequest { Steps = Settings.Steps, GuidanceScale = Settings.GuidanceScale };
                double cost = (double)SensitivityProxy.Forwards(request, proxy, Sites.Count) / Settings.ForwardsPerGeneration;
                Add(new ProtectionCell(new PlannedCell(ProxyId(seed), $"dev seed {seed}: sensitivity proxy{(Calibrating ? " and temperature calibration" : "")}", cost,
                    Array.Empty<string>()), ProtectionCellKind.Proxy, seed) { Development = true });
            }
            else if (Calibrating)
            {
                denseOf = CalibrationId(seed);
                Add(new ProtectionCell(new PlannedCell(denseOf, $"dev seed {seed}: dense, temperature calibration", 1.5, Array.Empty<string>()),
                    ProtectionCellKind.Calibration, seed) { Development = true });
            }
            if (O.Ranking == RankingSource.Generations || O.ValidateProxy)
            {
                if (denseOf is null)
                {
                    denseOf = ProtectionCells.DenseId(seed);
                    Add(DenseCell(seed, development: true));
                }
                for (int layer = 0; layer < Sites.Count; layer++)
                    foreach (double level in O.Levels)
                        Add(new ProtectionCell(new PlannedCell(SingleId(seed, layer, level), $"dev seed {seed}: layer {layer} alone at {level}", MaskedCost(1), new[] { denseOf }),
                            ProtectionCellKind.Single, seed) { Development = true, Layer = layer, Level = level });
            }
        }
        if (O.DevOnly) return cells;

        var development = cells.Select(c => c.Planned.Id).ToArray();
        foreach (long seed in O.TestSeeds) Add(DenseCell(seed, development: false));
        for (int i = 0; i < O.TestSeeds.Count; i++)
        {
            long seed = O.TestSeeds[i], next = O.TestSeeds[(i + 1) % O.TestSeeds.Count];
            string dense = ProtectionCells.DenseId(seed);
            Add(ArmCell(RoleId(seed, ProtectionArms.NoiseFloor, null), seed, ProtectionArms.NoiseFloor, null, $"held-out seed {seed}: noise floor (nothing dropped, masked kernel)",
                MaskedCost(Sites.Count), new[] { dense }));
            Add(new ProtectionCell(new PlannedCell(OtherSeedId(seed, next), $"held-out seed {seed}: against the dense run of seed {next}", 0.05,
                new[] { dense, ProtectionCells.DenseId(next) }), ProtectionCellKind.OtherSeed, seed) { NextSeed = next, Arm = ProtectionArms.OtherSeed });
            foreach (double level in O.Levels)
                foreach (var arm in ArmNames())
                {
                    bool fromDevelopment = NeedsDevelopment(arm);
                    var known = fromDevelopment ? null : Resolve(seed, arm, level, null);
                    int masked = known?.Generation?.Masked.Count ?? Sites.Count - (arm == ProtectionArms.AllMaskedTemperature ? 0 : O.KeepDense);
                    Add(ArmCell(RoleId(seed, arm, level), seed, arm, level, $"held-out seed {seed}: {arm} at {level}", MaskedCost(masked),
                        fromDevelopment ? development.Append(dense).ToArray() : new[] { dense }));
                }
        }
        return cells;
    }

    private ProtectionCell DenseCell(long seed, bool development) =>
        new(new PlannedCell(ProtectionCells.DenseId(seed), $"{(development ? "dev" : "held-out")} seed {seed}: dense", 1, Array.Empty<string>()),
            ProtectionCellKind.Dense, seed) { Development = development };

    private static ProtectionCell ArmCell(string id, long seed, string arm, double? level, string description, double cost, IReadOnlyList<string> after) =>
        new(new PlannedCell(id, description, cost, after), ProtectionCellKind.Arm, seed) { Arm = arm, Level = level };

    /// <summary>The arms at each level, in table order.</summary>
    private IEnumerable<string> ArmNames()
    {
        yield return ProtectionArms.AllMasked;
        yield return ProtectionArms.SensitiveDense;
        yield return ProtectionArms.LeastSensitiveDense;
        for (int d = 0; d < O.RandomDraws; d++) yield return ProtectionArms.RandomDensePrefix + d;
        if (O.RandomKeyArm && O.Method.Type == "bottom_k") yield return ProtectionArms.RandomKeys;
        if (Calibrating) yield return ProtectionArms.AllMaskedTemperature;
    }

    private static bool NeedsDevelopment(string arm) =>
        arm is ProtectionArms.SensitiveDense or ProtectionArms.LeastSensitiveDense or ProtectionArms.AllMaskedTemperature;

    /// <summary>What the arm generates and the cell it is saved in; null when it depends on a selection not made yet.</summary>
    private ArmSample? Resolve(long seed, string arm, double? level, DevSelection? dev)
    {
        var all = Enumerable.Range(0, Sites.Count).ToArray();
        if (NeedsDevelopment(arm) && dev is null) return null;
        ArmSample Masked(IReadOnlyList<int> dense) =>
            Sample(seed, arm, level, dense, new ArmGeneration(ArmGeneration.Masking, level!.Value, all.Except(dense).ToArray()));
        return arm switch
        {
            ProtectionArms.NoiseFloor => Sample(seed, arm, null, Array.Empty<int>(), new ArmGeneration(ArmGeneration.NoiseFloor, 0, all)),
            ProtectionArms.AllMasked => Masked(Array.Empty<int>()),
            ProtectionArms.SensitiveDense => Masked(dev!.Sensitive),
            ProtectionArms.LeastSensitiveDense => Masked(dev!.LeastSensitive),
            ProtectionArms.RandomKeys => Sample(seed, arm, level, Array.Empty<int>(),
                new ArmGeneration(ArmGeneration.RandomKeys, level!.Value, all, KeySeed: O.ControlSeed * 1_000_003L + seed)),
            ProtectionArms.AllMaskedTemperature => Sample(seed, arm, level, Array.Empty<int>(),
                new ArmGeneration(ArmGeneration.Temperature, level!.Value, all, Temperatures: dev!.Temperatures)),
            _ when arm.StartsWith(ProtectionArms.RandomDensePrefix, StringComparison.Ordinal) =>
                Masked(RandomDense[int.Parse(arm[ProtectionArms.RandomDensePrefix.Length..], System.Globalization.CultureInfo.InvariantCulture)]),
            _ => throw new VDiTLensException($"arm '{arm}' is not an arm of the held-out study"),
        };
    }

    private ArmSample Sample(long seed, string arm, double? level, IReadOnlyList<int> dense, ArmGeneration generation) =>
        new(seed, arm, level, dense, generation, generation.Id(seed, O.FeatureDistance));

    // ---- state on disk ----

    public ProtectionCell Cell(string id) => _byId[id];

    /// <summary>The arm an arm cell stands for, with the cell its generation is saved in; null while the development cells it needs are missing.</summary>
    public ArmSample? ArmOf(ProtectionCell cell) => cell.Kind switch
    {
        ProtectionCellKind.Arm => Resolve(cell.Seed, cell.Arm, cell.Level, NeedsDevelopment(cell.Arm) ? TrySelect() : null),
        ProtectionCellKind.OtherSeed => new ArmSample(cell.Seed, ProtectionArms.OtherSeed, null, Array.Empty<int>(), null, cell.Planned.Id),
        _ => throw new VDiTLensException($"cell '{cell.Planned.Id}' is not an arm"),
    };

    public bool IsDone(ProtectionCell cell) => cell.Kind switch
    {
        ProtectionCellKind.Proxy => _cells.Has<ProxyCellResult>(cell.Planned.Id),
        ProtectionCellKind.Calibration => _cells.Has<CalibrationCellResult>(cell.Planned.Id) && _cells.HasDense(cell.Seed),
        ProtectionCellKind.Dense => _cells.HasDense(cell.Seed),
        ProtectionCellKind.Single => _cells.Has<double[]>(cell.Planned.Id),
        _ => ArmOf(cell) is { } arm && _cells.Has<SampleRow[]>(arm.CellId),
    };

    public bool IsReady(ProtectionCell cell) => cell.Planned.After.All(id => IsDone(_byId[id]));

    /// <summary>The selection from the saved development cells; null while one of them is missing.</summary>
    public DevSelection? TrySelect()
    {
        if (_selection is not null) return _selection;
        if (!Cells.Where(c => c.Development).All(IsDone)) return null;
        return _selection = Select();
    }

    private DevSelection Select()
    {
        IReadOnlyList<LayerScore> ranking;
        ProxyValidation? validation = null;
        IEnumerable<TemperatureSums> sums;
        if (O.Ranking == RankingSource.Proxy)
        {
            var proxyCells = O.DevSeeds.Select(seed => _cells.Get<ProxyCellResult>(ProxyId(seed))).ToArray();
            var proxy = Collect(proxyCells.SelectMany(p => p.Cells.Select(c => (c.Layer, c.Level, c.PerItem))));
            ranking = Rank(proxy);
            sums = proxyCells.SelectMany(p => p.Temperatures);
            if (O.ValidateProxy)
            {
                var generated = GenerationScores();
                var validationCells = proxy.Keys.OrderBy(k => k.Layer).ThenBy(k => k.Level).Select(k => new ValidationCell(k.Layer, k.Level, proxy[k], generated[k])).ToArray();
                validation = new ProxyValidation(SpearmanOverSamples(validationCells), validationCells);
            }
        }
        else
        {
            ranking = Rank(GenerationScores());
            sums = Calibrating ? O.DevSeeds.SelectMany(seed => _cells.Get<CalibrationCellResult>(CalibrationId(seed)).Temperatures) : Array.Empty<TemperatureSums>();
        }
        int k = O.KeepDense;
        var sensitive = ranking.Take(k).Select(r => r.Layer).OrderBy(l => l).ToArray();
        var least = ranking.Reverse().Take(k).Select(r => r.Layer).OrderBy(l => l).ToArray();
        return new DevSelection(O.Ranking, ranking, sensitive, least, RandomDense, TemperatureCalibrator.Combine(sums), validation);
    }

    /// <summary>Per (layer, level): each sample's (prompt × dev seed, in seed order) single-layer generation error.</summary>
    private Dictionary<(int Layer, double Level), List<double>> GenerationScores() => Collect(O.DevSeeds.SelectMany(seed =>
        Enumerable.Range(0, Sites.Count).SelectMany(layer => O.Levels.Select(level => (layer, level, (IReadOnlyList<double>)_cells.Get<double[]>(SingleId(seed, layer, level)))))));

    private static Dictionary<(int Layer, double Level), List<double>> Collect(IEnumerable<(int Layer, double Level, IReadOnlyList<double> Values)> parts)
    {
        var scores = new Dictionary<(int, double), List<double>>();
        foreach (var (layer, level, values) in parts)
        {
            if (!scores.TryGetValue((layer, level), out var list)) scores[(layer, level)] = list = new List<double>();
            list.AddRange(values);
        }
        return scores;
    }

    private LayerScore[] Rank(Dictionary<(int Layer, double Level), List<double>> scores) => scores
        .GroupBy(kv => kv.Key.Layer).Select(g => new LayerScore(g.Key, Sites[g.Key], g.Average(kv => kv.Value.Average())))
        .OrderByDescending(s => s.Score).ThenBy(s => s.Layer).ToArray();

    /// <summary>Spearman over the cells of the per-cell means, the samples (prompt × dev seed, the same in every cell) resampled jointly.</summary>
    private Statistics.Estimate SpearmanOverSamples(IReadOnlyList<ValidationCell> cells)
    {
        int n = cells[0].Proxy.Count;
        if (cells.Any(c => c.Proxy.Count != n || c.Generation.Count != n))
            throw new VDiTLensException("proxy validation: the cells hold different numbers of samples");
        var units = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        return O.Bootstrap.Of(units, drawn => RankCorrelation.Spearman(
            cells.Select(c => drawn.Average(i => c.Proxy[(int)i])).ToArray(),
            cells.Select(c => drawn.Average(i => c.Generation[(int)i])).ToArray()));
    }

    /// <summary>
    /// The study from its saved cells: null while a development cell is missing; otherwise the selection and the rows of
    /// every arm whose cell is saved, in table order (seed, then the scale arms, then level and arm).
    /// </summary>
    public ProtectionResult? Collect()
    {
        if (TrySelect() is not { } dev) return null;
        var samples = new List<SampleRow>();
        var generations = new HashSet<string>(StringComparer.Ordinal);
        int proxyForwards = 0;
        foreach (var cell in Cells)
        {
            switch (cell.Kind)
            {
                case ProtectionCellKind.Proxy:
                    proxyForwards += _cells.Get<ProxyCellResult>(cell.Planned.Id).Forwards;
                    break;
                case ProtectionCellKind.Arm or ProtectionCellKind.OtherSeed:
                    var arm = ArmOf(cell)!;
                    if (_cells.Load<SampleRow[]>(arm.CellId) is not { } rows) continue;
                    if (arm.Generation is not null) generations.Add(arm.CellId);
                    samples.AddRange(rows.Select(r => r with { Arm = arm.Arm, Level = arm.Level, DenseLayers = string.Join(" ", arm.DenseLayers) }));
                    break;
                default:
                    if (IsDone(cell)) generations.Add(cell.Planned.Id);
                    break;
            }
        }
        return new ProtectionResult(Sites, O, dev, samples, generations.Count, proxyForwards, Notes);
    }

    /// <summary>The planned cells not saved yet.</summary>
    public IReadOnlyList<PlannedCell> Missing() => Cells.Where(c => !IsDone(c)).Select(c => c.Planned).ToArray();
}
