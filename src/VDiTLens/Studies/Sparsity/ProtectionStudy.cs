using System.Diagnostics;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Metrics;
using VDiTLens.Pipelines;
using VDiTLens.Statistics;

namespace VDiTLens.Studies.Sparsity;

/// <summary>A layer's sensitivity on the development seeds (mean over levels, prompts and dev seeds).</summary>
public sealed record LayerScore(int Layer, string Site, double Score);

/// <summary>One (layer, level) of the proxy validation: the proxy's and the generations' sensitivity, each per sample (prompt × dev seed).</summary>
public sealed record ValidationCell(int Layer, double Level, IReadOnlyList<double> Proxy, IReadOnlyList<double> Generation);

/// <summary>Spearman's correlation of the proxy's and the generations' sensitivity over the (layer, level) cells, bootstrapped over samples.</summary>
public sealed record ProxyValidation(Estimate Spearman, IReadOnlyList<ValidationCell> Cells);

/// <summary>What was chosen on the development seeds.</summary>
public sealed record DevSelection(
    RankingSource Source, IReadOnlyList<LayerScore> Ranking, IReadOnlyList<int> Sensitive, IReadOnlyList<int> LeastSensitive,
    IReadOnlyList<IReadOnlyList<int>> RandomDense, IReadOnlyList<CalibratedTemperature> Temperatures, ProxyValidation? Validation);

/// <summary>
/// One held-out sample (prompt × seed) of one arm against the dense run of the same prompt and seed. <see cref="Level"/>
/// is null for the two scale arms (<see cref="ProtectionArms.NoiseFloor"/>, <see cref="ProtectionArms.OtherSeed"/>).
/// </summary>
public sealed record SampleRow(
    string Arm, double? Level, string DenseLayers, int Prompt, long Seed,
    double LatentRelativeL2, double Psnr, double Ssim, double MsSsim, double TemporalFlickering, double DenseTemporalFlickering, double? FeatureDistance);

public sealed record ProtectionResult(
    IReadOnlyList<string> Sites, ProtectionOptions Options, DevSelection Dev, IReadOnlyList<SampleRow> Samples,
    int Generations, int ProxyForwards, TimeSpan Elapsed, IReadOnlyList<string> Notes);

/// <summary>Arm names of the held-out study.</summary>
public static class ProtectionArms
{
    public const string AllMasked = "all_masked";
    public const string SensitiveDense = "sensitive_dense";
    public const string LeastSensitiveDense = "least_sensitive_dense";
    public const string RandomDensePrefix = "random_dense_";
    public const string RandomKeys = "random_keys";
    public const string AllMaskedTemperature = "all_masked_tau";
    /// <summary>The dense run with every self-attention call through the exact masked kernel, no key dropped: a change that should not matter (d_noise).</summary>
    public const string NoiseFloor = "noise_floor";
    /// <summary>The dense run of the next held-out seed (cyclically), same prompt (d_seed).</summary>
    public const string OtherSeed = "other_seed";
}

/// <summary>
/// The held-out sparsity study (<see cref="ProtectionOptions"/>): selection on the development seeds, every arm
/// generated and measured on the held-out seeds only, per sample.
/// </summary>
public sealed class ProtectionStudy(ITextToVideoPipeline pipeline, GenerationRequest request, ProtectionOptions options)
{
    private int _generations, _proxyForwards;
    private readonly List<string> _notes = new();

    public ProtectionResult Run(IProgress<string>? progress = null, CancellationToken cancellation = default)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        var sites = pipeline.Sites.Where(s => s.Kind is AttentionKind.Self or AttentionKind.Joint).Select(s => s.Name).ToArray();
        if (sites.Length < 2) throw new VDiTLensException($"the model has {sites.Length} self-attention site(s); the study needs at least 2 layers to keep some dense");
        if (options.KeepDense >= sites.Length)
            throw new VDiTLensException($"KeepDense {options.KeepDense}: the model has {sites.Length} self-attention layers; keep fewer dense than that");
        var dev = Develop(sites, progress, cancellation);
        var samples = options.DevOnly ? new List<SampleRow>() : Test(sites, dev, progress, cancellation);
        return new ProtectionResult(sites, options, dev, samples, _generations, _proxyForwards, clock.Elapsed, _notes);
    }

    // ---- development seeds: ranking and temperatures ----

    private DevSelection Develop(string[] sites, IProgress<string>? progress, CancellationToken cancellation)
    {
        var calibrator = options.TemperatureArm ? Calibrator(sites) : null;
        IReadOnlyList<LayerScore> ranking;
        ProxyValidation? validation = null;
        if (options.Ranking == RankingSource.Proxy)
        {
            var proxy = ProxyScores(sites, calibrator, progress);
            ranking = Rank(sites, proxy.ToDictionary(kv => kv.Key, kv => kv.Value.Average()));
            if (options.ValidateProxy)
            {
                var generated = GenerationScores(sites, null, progress, cancellation);
                var cells = proxy.Keys.OrderBy(k => k.Layer).ThenBy(k => k.Level).Select(k => new ValidationCell(k.Layer, k.Level, proxy[k], generated[k])).ToArray();
                validation = new ProxyValidation(SpearmanOverSamples(cells), cells);
            }
        }
        else
        {
            var generated = GenerationScores(sites, calibrator, progress, cancellation);
            ranking = Rank(sites, generated.ToDictionary(kv => kv.Key, kv => kv.Value.Average()));
        }
        int k = options.KeepDense;
        var sensitive = ranking.Take(k).Select(r => r.Layer).OrderBy(l => l).ToArray();
        var least = ranking.Reverse().Take(k).Select(r => r.Layer).OrderBy(l => l).ToArray();
        var draws = Enumerable.Range(0, options.RandomDraws).Select(d =>
        {
            var random = new Random(options.ControlSeed * 7919 + d);
            return (IReadOnlyList<int>)Enumerable.Range(0, sites.Length).OrderBy(_ => random.Next()).Take(k).OrderBy(l => l).ToArray();
        }).ToArray();
        progress?.Report($"dev ranking ({options.Ranking}, most sensitive first): {string.Join(", ", ranking.Select(r => $"L{r.Layer} {r.Score:G3}"))}");
        return new DevSelection(options.Ranking, ranking, sensitive, least, draws, calibrator?.Results ?? Array.Empty<CalibratedTemperature>(), validation);
    }

    private TemperatureCalibrator? Calibrator(string[] sites)
    {
        var sparsifiers = new Dictionary<double, ISparsifier>();
        foreach (double level in options.Levels)
        {
            if (options.Method.Build(level, sites).FirstOrDefault() is not SparseAttention sparse)
            {
                _notes.Add($"no temperature arm: method '{options.Method.Name}' ({options.Method.Type}) is not a key-selection sparsifier");
                return null;
            }
            sparsifiers[level] = sparse.Sparsifier;
        }
        return new TemperatureCalibrator(sparsifiers, new AttentionSelector { Sites = sites }, options.CalibrationQueryStride);
    }

    /// <summary>Per (layer, level): the proxy's velocity change per sample (prompt × dev seed).</summary>
    private Dictionary<(int Layer, double Level), List<double>> ProxyScores(string[] sites, TemperatureCalibrator? calibrator, IProgress<string>? progress)
    {
        if (pipeline is not WanPipeline wan)
            throw new VDiTLensException($"Ranking {RankingSource.Proxy}: the proxy calls the Wan transformer directly and this is {pipeline.ClassName}; rank by {RankingSource.Generations}");
        var scores = new Dictionary<(int, double), List<double>>();
        var proxyOptions = new ProxyOptions { Methods = new[] { options.Method }, Levels = options.Levels, Samples = options.ProxySamples, Sites = sites };
        foreach (long seed in options.DevSeeds)
        {
            progress?.Report($"dev seed {seed}: sensitivity proxy{(calibrator is null ? "" : " and temperature calibration")}");
            var result = SensitivityProxy.Run(wan, request with { Seed = seed, BatchGuidance = false }, proxyOptions, null, calibrator);
            _proxyForwards += result.Forwards;
            foreach (var cell in result.Cells)
            {
                int layer = Array.IndexOf(sites, cell.Site);
                if (!scores.TryGetValue((layer, cell.Level), out var list)) scores[(layer, cell.Level)] = list = new List<double>();
                list.AddRange(cell.PerItem);
            }
        }
        return scores;
    }

    /// <summary>Per (layer, level): the final-latent relative L2 per sample (prompt × dev seed) of a generation with only that layer sparsified.</summary>
    private Dictionary<(int Layer, double Level), List<double>> GenerationScores(string[] sites, TemperatureCalibrator? calibrator, IProgress<string>? progress, CancellationToken cancellation)
    {
        var scores = new Dictionary<(int, double), List<double>>();
        foreach (long seed in options.DevSeeds)
        {
            progress?.Report($"dev seed {seed}: dense generation{(calibrator is null ? "" : " with temperature calibration")}");
            using var dense = Generate(seed, calibrator is null ? Array.Empty<IAttentionIntervention>() : new IAttentionIntervention[] { calibrator }, cancellation);
            for (int layer = 0; layer < sites.Length; layer++)
                foreach (double level in options.Levels)
                {
                    progress?.Report($"dev seed {seed}: layer {layer} alone at {level}");
                    using var sparse = Generate(seed, options.Method.Build(level, new[] { sites[layer] }), cancellation);
                    if (!scores.TryGetValue((layer, level), out var list)) scores[(layer, level)] = list = new List<double>();
                    list.AddRange(SampleMetrics.LatentRelativeL2(dense.Latents, sparse.Latents));
                }
        }
        return scores;
    }

    private static LayerScore[] Rank(string[] sites, Dictionary<(int Layer, double Level), double> cellMeans) => cellMeans
        .GroupBy(kv => kv.Key.Layer).Select(g => new LayerScore(g.Key, sites[g.Key], g.Average(kv => kv.Value)))
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

    // ---- held-out seeds: the arms ----

    private List<SampleRow> Test(string[] sites, DevSelection dev, IProgress<string>? progress, CancellationToken cancellation)
    {
        var rows = new List<SampleRow>();
        var dense = new Dictionary<long, GeneratedSample>();
        using var network = options.FeatureDistance ? ResNet18Features.Load() : null;
        try
        {
            foreach (long seed in options.TestSeeds)
            {
                progress?.Report($"test seed {seed}: dense");
                dense[seed] = Generate(seed, Array.Empty<IAttentionIntervention>(), cancellation);
            }
            for (int i = 0; i < options.TestSeeds.Count; i++)
            {
                long seed = options.TestSeeds[i];
                var reference = dense[seed];
                var metrics = new SampleMetrics(reference, network);
                void Arm(string arm, double? level, IReadOnlyList<int> denseLayers, Func<IReadOnlyList<IAttentionIntervention>> build)
                {
                    progress?.Report($"test seed {seed}: {arm}{(level is { } l ? $" at {l}" : "")}");
                    using var sample = Generate(seed, build(), cancellation);
                    rows.AddRange(metrics.Rows(arm, level, denseLayers, seed, sample));
                }
                Arm(ProtectionArms.NoiseFloor, null, Array.Empty<int>(), () => new IAttentionIntervention[] { new SparseAttention(new BottomKSparsifier(0), new AttentionSelector { Sites = sites }) });
                rows.AddRange(metrics.Rows(ProtectionArms.OtherSeed, null, Array.Empty<int>(), seed, dense[options.TestSeeds[(i + 1) % options.TestSeeds.Count]]));
                foreach (double level in options.Levels)
                {
                    IReadOnlyList<IAttentionIntervention> Masked(IReadOnlyList<int> denseLayers) =>
                        options.Method.Build(level, sites.Where((_, l) => !denseLayers.Contains(l)).ToArray());
                    Arm(ProtectionArms.AllMasked, level, Array.Empty<int>(), () => Masked(Array.Empty<int>()));
                    Arm(ProtectionArms.SensitiveDense, level, dev.Sensitive, () => Masked(dev.Sensitive));
                    Arm(ProtectionArms.LeastSensitiveDense, level, dev.LeastSensitive, () => Masked(dev.LeastSensitive));
                    for (int d = 0; d < dev.RandomDense.Count; d++)
                        Arm(ProtectionArms.RandomDensePrefix + d, level, dev.RandomDense[d], () => Masked(dev.RandomDense[d]));
                    if (options.RandomKeyArm && options.Method.Type == "bottom_k")
                        Arm(ProtectionArms.RandomKeys, level, Array.Empty<int>(), () => new IAttentionIntervention[]
                        {
                            new SparseAttention(new RandomKeySparsifier(level, options.ControlSeed * 1_000_003L + seed), new AttentionSelector { Sites = sites }),
                        });
                    if (dev.Temperatures.Count > 0)
                        Arm(ProtectionArms.AllMaskedTemperature, level, Array.Empty<int>(),
                            () => Masked(Array.Empty<int>()).Concat(TemperatureCalibrator.Temperatures(dev.Temperatures, level, sites)).ToArray());
                }
            }
            if (options.RandomKeyArm && options.Method.Type != "bottom_k")
                _notes.Add($"no random-key arm: equal-count random masking is the control of bottom_k, and the method is {options.Method.Type}");
        }
        finally
        {
            foreach (var d in dense.Values) d.Dispose();
        }
        return rows;
    }

    private GeneratedSample Generate(long seed, IReadOnlyList<IAttentionIntervention> interventions, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var attached = interventions.Select(i => pipeline.Seam.Attach(i)).ToList();
        try
        {
            using var latents = pipeline.Denoise(request with { Seed = seed, Cancellation = cancellation });
            var video = pipeline.DecodeLatents(latents);
            _generations++;
            return new GeneratedSample(latents.to(TorchSharp.torch.ScalarType.Float32).cpu().clone(), video);
        }
        finally
        {
            foreach (var a in attached) a.Dispose();
        }
    }
}
