using VDiTLens.Attention;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Pipelines;
using VDiTLens.Statistics;

namespace VDiTLens.Studies.Sparsity;

/// <summary>The development seeds: the layer ranking, the entropy-matching temperatures and the proxy validation, as cells.</summary>
public sealed partial class ProtectionStudy
{
    /// <summary>The sparsifier of each level, for the temperature calibration; null (and a note) when the method selects no keys.</summary>
    private IReadOnlyDictionary<double, ISparsifier>? CalibrationSparsifiers()
    {
        var sparsifiers = new Dictionary<double, ISparsifier>();
        foreach (double level in options.Levels)
        {
            if (options.Method.Build(level, _sites).FirstOrDefault() is not SparseAttention sparse)
            {
                _notes.Add($"no temperature arm: method '{options.Method.Name}' ({options.Method.Type}) is not a key-selection sparsifier");
                return null;
            }
            sparsifiers[level] = sparse.Sparsifier;
        }
        return sparsifiers;
    }

    private TemperatureCalibrator? Calibrator(IReadOnlyDictionary<double, ISparsifier>? sparsifiers) =>
        sparsifiers is null ? null : new TemperatureCalibrator(sparsifiers,
            new AttentionSelector { Sites = _sites, Steps = SensitivityProxy.SampleSteps(request.Steps, options.CalibrationSteps) }, options.CalibrationQueryStride);

    private string CalibrationKey => $"{options.CalibrationQueryStride}|{options.CalibrationSteps}";

    private string LevelsKey => string.Join(",", options.Levels.Select(ProtectionCells.R));

    private string ProxyId(long seed, bool calibrating) =>
        $"proxy_seed{seed}_" + ProtectionCells.Hash($"{LevelsKey}|{options.ProxySamples}|{(calibrating ? CalibrationKey : "none")}");

    private string CalibrationId(long seed) => $"calibration_seed{seed}_" + ProtectionCells.Hash($"{LevelsKey}|{CalibrationKey}");

    private static string SingleId(long seed, int layer, double level) => $"single_seed{seed}_L{layer}_{ProtectionCells.R(level)}";

    private List<Step> DevelopmentSteps(IReadOnlyDictionary<double, ISparsifier>? calibration)
    {
        var steps = new List<Step>();
        foreach (long seed in options.DevSeeds)
        {
            if (options.Ranking == RankingSource.Proxy) steps.Add(ProxyStep(seed, calibration));
            else if (calibration is not null) steps.Add(CalibrationStep(seed, calibration));
            if (options.Ranking == RankingSource.Generations || options.ValidateProxy)
            {
                steps.Add(DenseStep(seed));
                for (int layer = 0; layer < _sites.Length; layer++)
                    foreach (double level in options.Levels)
                        steps.Add(SingleStep(seed, layer, level));
            }
        }
        return steps;
    }

    private Step ProxyStep(long seed, IReadOnlyDictionary<double, ISparsifier>? calibration)
    {
        if (pipeline is not WanPipeline wan)
            throw new VDiTLensException($"Ranking {RankingSource.Proxy}: the proxy calls the Wan transformer directly and this is {pipeline.ClassName}; rank by {RankingSource.Generations}");
        var proxyOptions = new ProxyOptions { Methods = new[] { options.Method }, Levels = options.Levels, Samples = options.ProxySamples, Sites = _sites };
        var proxyRequest = request with { Seed = seed, BatchGuidance = false };
        int forwardsPerGeneration = request.Steps * (request.GuidanceScale > 1 ? 2 : 1);
        double cost = (double)SensitivityProxy.Forwards(proxyRequest, proxyOptions, _sites.Length) / forwardsPerGeneration;
        string id = ProxyId(seed, calibration is not null);
        return new Step(id, $"dev seed {seed}: sensitivity proxy{(calibration is null ? "" : " and temperature calibration")}", cost,
            () => cells.Has<ProxyCellResult>(id), () =>
            {
                var calibrator = Calibrator(calibration);
                var result = SensitivityProxy.Run(wan, proxyRequest with { Cancellation = _cancellation }, proxyOptions, null, calibrator);
                _proxyForwards += result.Forwards;
                cells.Save(id, new ProxyCellResult(
                    result.Cells.Select(c => new ProxyLayerLevel(Array.IndexOf(_sites, c.Site), c.Level, c.PerItem)).ToArray(),
                    calibrator?.Sums ?? Array.Empty<TemperatureSums>(), result.Forwards));
            });
    }

    /// <summary>The dense generation of a dev seed with the calibrator observing it; it saves the dense run too.</summary>
    private Step CalibrationStep(long seed, IReadOnlyDictionary<double, ISparsifier> calibration)
    {
        string id = CalibrationId(seed);
        return new Step(id, $"dev seed {seed}: dense generation with temperature calibration", 1, () => cells.Has<CalibrationCellResult>(id), () =>
        {
            var calibrator = Calibrator(calibration)!;
            var sample = Generate(seed, new IAttentionIntervention[] { calibrator });
            if (!cells.HasDense(seed)) cells.SaveDense(seed, sample);
            Remember(seed, sample);
            cells.Save(id, new CalibrationCellResult(calibrator.Sums));
        });
    }

    private Step SingleStep(long seed, int layer, double level)
    {
        string id = SingleId(seed, layer, level);
        return new Step(id, $"dev seed {seed}: layer {layer} alone at {level}", 1, () => cells.Has<double[]>(id), () =>
        {
            using var sparse = Generate(seed, options.Method.Build(level, new[] { _sites[layer] }));
            cells.Save(id, SampleMetrics.LatentRelativeL2(Dense(seed).Latents, sparse.Latents));
        });
    }

    /// <summary>Per (layer, level): each sample's (prompt × dev seed, in seed order) single-layer generation error.</summary>
    private Dictionary<(int Layer, double Level), List<double>> GenerationScores() => Collect(options.DevSeeds.SelectMany(seed =>
        Enumerable.Range(0, _sites.Length).SelectMany(layer => options.Levels.Select(level => (layer, level, (IReadOnlyList<double>)cells.Get<double[]>(SingleId(seed, layer, level)))))));

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

    /// <summary>The selection from the saved development cells.</summary>
    private DevSelection Select(bool calibrating)
    {
        IReadOnlyList<LayerScore> ranking;
        ProxyValidation? validation = null;
        IEnumerable<TemperatureSums> sums;
        if (options.Ranking == RankingSource.Proxy)
        {
            var proxyCells = options.DevSeeds.Select(seed => cells.Get<ProxyCellResult>(ProxyId(seed, calibrating))).ToArray();
            var proxy = Collect(proxyCells.SelectMany(p => p.Cells.Select(c => (c.Layer, c.Level, c.PerItem))));
            ranking = Rank(proxy);
            sums = proxyCells.SelectMany(p => p.Temperatures);
            if (options.ValidateProxy)
            {
                var generated = GenerationScores();
                var validationCells = proxy.Keys.OrderBy(k => k.Layer).ThenBy(k => k.Level).Select(k => new ValidationCell(k.Layer, k.Level, proxy[k], generated[k])).ToArray();
                validation = new ProxyValidation(SpearmanOverSamples(validationCells), validationCells);
            }
        }
        else
        {
            ranking = Rank(GenerationScores());
            sums = calibrating ? options.DevSeeds.SelectMany(seed => cells.Get<CalibrationCellResult>(CalibrationId(seed)).Temperatures) : Array.Empty<TemperatureSums>();
        }
        int k = options.KeepDense;
        var sensitive = ranking.Take(k).Select(r => r.Layer).OrderBy(l => l).ToArray();
        var least = ranking.Reverse().Take(k).Select(r => r.Layer).OrderBy(l => l).ToArray();
        var draws = Enumerable.Range(0, options.RandomDraws).Select(d =>
        {
            var random = new Random(options.ControlSeed * 7919 + d);
            return (IReadOnlyList<int>)Enumerable.Range(0, _sites.Length).OrderBy(_ => random.Next()).Take(k).OrderBy(l => l).ToArray();
        }).ToArray();
        return new DevSelection(options.Ranking, ranking, sensitive, least, draws, TemperatureCalibrator.Combine(sums), validation);
    }

    private LayerScore[] Rank(Dictionary<(int Layer, double Level), List<double>> scores) => scores
        .GroupBy(kv => kv.Key.Layer).Select(g => new LayerScore(g.Key, _sites[g.Key], g.Average(kv => kv.Value.Average())))
        .OrderByDescending(s => s.Score).ThenBy(s => s.Layer).ToArray();

    /// <summary>Spearman over the cells of the per-cell means, the samples (prompt × dev seed, the same in every cell) resampled jointly.</summary>
    private Estimate SpearmanOverSamples(IReadOnlyList<ValidationCell> cells)
    {
        int n = cells[0].Proxy.Count;
        if (cells.Any(c => c.Proxy.Count != n || c.Generation.Count != n))
            throw new VDiTLensException("proxy validation: the cells hold different numbers of samples");
        var units = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        return options.Bootstrap.Of(units, drawn => RankCorrelation.Spearman(
            cells.Select(c => drawn.Average(i => c.Proxy[(int)i])).ToArray(),
            cells.Select(c => drawn.Average(i => c.Generation[(int)i])).ToArray()));
    }
}
