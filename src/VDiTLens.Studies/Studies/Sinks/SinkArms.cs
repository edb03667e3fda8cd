using VDiTLens.Attention;
using VDiTLens.Interventions;
using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>One arm of the ablation: a mode applied to the sinks, or to as many random keys.</summary>
public sealed record AblationArm(SinkAblationMode Mode, bool Random)
{
    public string Name => $"{(Random ? "random" : "sinks")} {(Mode == SinkAblationMode.Mask ? "masked" : "values zeroed")}";
    public string Id => $"{(Mode == SinkAblationMode.Mask ? "mask" : "zero")}_{(Random ? "random" : "sinks")}";
}

/// <summary>One condition of the temperature sweep: a temperature, with or without the sparsifier (τ = 1 without it is the baseline).</summary>
public sealed record TemperatureArm(double Tau, bool Sparse)
{
    public bool IsBaseline => Tau == 1.0 && !Sparse;
    public string NameWith(string? sparsify) => $"τ={Tau}{(Sparse ? " + " + sparsify : "")}";
    public string Id => $"tau{Tau.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}{(Sparse ? "_sparse" : "")}";
}

/// <summary>
/// One run of an arm against the baseline of the same prompt and seed: the output change and, for temperature arms, the
/// mean entropy of every scoped (site, step) and the mass the baseline's sinks receive in every scoped (site, head).
/// </summary>
public sealed record ArmMeasure(int Run, OutputChange Change, IReadOnlyList<double>? Entropies = null, IReadOnlyList<double>? SinkMasses = null)
{
    public double? MeanEntropy => Entropies?.DefaultIfEmpty(double.NaN).Average();
    public double? MeanSinkMass => SinkMasses?.DefaultIfEmpty(double.NaN).Average();
}

/// <summary>
/// The per-run work of the sink study's arms (one generation each, given the run's baseline and its sinks from
/// <see cref="SinkAnalysis.OfRun"/>), and how the runs of an arm make its table row. The whole study in one process
/// and the sharded study share these, so both give the same numbers.
/// </summary>
public static class SinkArms
{
    public static IReadOnlyList<AblationArm> Ablations(IReadOnlyList<SinkAblationMode> modes) =>
        modes.SelectMany(m => new[] { new AblationArm(m, false), new AblationArm(m, true) }).ToList();

    /// <summary>τ = 1 (the baseline) first, then every other τ, then with a sparsifier τ = 1 and the others; empty when there is no sweep.</summary>
    public static IReadOnlyList<TemperatureArm> Temperatures(IReadOnlyList<double> taus, string? sparsify)
    {
        if (taus.Count == 0 && sparsify is null) return Array.Empty<TemperatureArm>();
        var arms = new List<TemperatureArm> { new(1.0, false) };
        arms.AddRange(taus.Where(t => t != 1.0).Select(t => new TemperatureArm(t, false)));
        if (sparsify is not null)
            arms.AddRange(new[] { 1.0 }.Concat(taus.Where(t => t != 1.0)).Select(t => new TemperatureArm(t, true)));
        return arms;
    }

    public static GenerationRequest RequestFor(SinkStudyOptions options, int prompt, long seed) =>
        options.Template with { Prompts = new[] { options.Prompts[prompt] }, Seed = seed, InitialLatents = null };

    public static int PromptOf(SinkStudyOptions options, int run) => run / options.Seeds.Count;

    /// <summary>The run with the arm's ablation, compared with its baseline.</summary>
    public static ArmMeasure Ablate(ITextToVideoPipeline pipeline, SinkStudyOptions options, ProbedRun baseline, IReadOnlyList<SiteSinks> runSinks, AblationArm arm)
    {
        var interventions = arm.Random
            ? SinkAblationStudy.RandomAblations(runSinks, arm.Mode, options.ControlSeed)
            : SinkAblationStudy.SinkAblations(runSinks, arm.Mode);
        int prompt = PromptOf(options, baseline.Run);
        using var changed = ProbedGeneration.Run(pipeline, RequestFor(options, prompt, baseline.Seed), baseline.Run, options.Sites, interventions, measure: false);
        return new ArmMeasure(baseline.Run, OutputComparison.Compare(changed, baseline, options.SpecOf(prompt)));
    }

    /// <summary>The run at the arm's temperature (and sparsifier), measured; the baseline arm measures the baseline itself.</summary>
    public static ArmMeasure Temper(ITextToVideoPipeline pipeline, SinkStudyOptions options, ProbedRun baseline, IReadOnlyList<SiteSinks> runSinks, TemperatureArm arm)
    {
        if (arm.IsBaseline) return Measure(pipeline.Sites, options, baseline, baseline, runSinks);
        var interventions = new List<IAttentionIntervention>();
        if (arm.Tau != 1.0) interventions.Add(new Temperature(arm.Tau, options.TauScope));
        if (arm.Sparse) interventions.Add(SparsifySpec.Parse(options.Sparsify!, options.SparsifyScope));
        int prompt = PromptOf(options, baseline.Run);
        using var changed = ProbedGeneration.Run(pipeline, RequestFor(options, prompt, baseline.Seed), baseline.Run,
            options.Sites, interventions, memoryBudgetBytes: options.MemoryBudgetBytes);
        return Measure(pipeline.Sites, options, changed, baseline, runSinks);
    }

    /// <summary>Entropy and sink mass of <paramref name="run"/> over the temperature's scoped sites, and its output change.</summary>
    public static ArmMeasure Measure(IReadOnlyList<AttentionSite> sites, SinkStudyOptions options, ProbedRun run, ProbedRun baseline, IReadOnlyList<SiteSinks> runSinks)
    {
        var scoped = new HashSet<string>(sites.Where(s => options.TauScope.Accepts(CallAt(s))).Select(s => s.Name));
        var entropies = new List<double>();
        var sinkMasses = new List<double>();
        foreach (var ((site, _), e) in run.Entropy.Where(kv => scoped.Contains(kv.Key.Site)))
            entropies.Add(e.to(ScalarType.Float64).mean().item<double>());
        // The probes read the attention as applied, sparsification included.
        foreach (var sinks in runSinks.Where(s => scoped.Contains(s.Site) && run.Mass.Keys.Any(k => k.Site == s.Site)))
        {
            using var mass = run.StepMean(sinks.Site);
            foreach (var head in sinks.Heads)
                sinkMasses.Add(head.Sinks.Sum(j => mass[head.Head, j].item<double>()));
        }
        return new ArmMeasure(run.Run, OutputComparison.Compare(run, baseline, options.SpecOf(PromptOf(options, run.Run))), entropies, sinkMasses);
    }

    /// <summary>The ablation table's row of an arm over its runs; <paramref name="headKeys"/>: the head·keys the sink ablation removes in the first run.</summary>
    public static OutputSummary Summary(AblationArm arm, int headKeys, IReadOnlyList<ArmMeasure> runs) =>
        OutputSummary.Of($"{arm.Name} ({headKeys} head·keys in run 0)", runs.Select(r => r.Change).ToList());

    /// <summary>The temperature table's row of an arm over its runs (entropies and sink masses pooled over runs in run order).</summary>
    public static TemperaturePoint Point(TemperatureArm arm, string? sparsify, IReadOnlyList<ArmMeasure> runs) =>
        new(arm.Tau, arm.Sparse, runs.SelectMany(r => r.Entropies!).DefaultIfEmpty(double.NaN).Average(),
            runs.SelectMany(r => r.SinkMasses!).DefaultIfEmpty(double.NaN).Average(), OutputSummary.Of(arm.NameWith(sparsify), runs.Select(r => r.Change).ToList()));

    public static SinkSample Sample(string arm, ProbedRunInfo run, ArmMeasure m) =>
        new(arm, run.PromptIndex, run.Prompt, run.Seed, m.Change, m.MeanEntropy, m.MeanSinkMass);

    private static AttentionCall CallAt(AttentionSite site) =>
        new(site, new AttentionRunState(), 1.0, TokenLayout.Text(0), TokenLayout.Text(0));
}

/// <summary>Which prompt and seed a run generated (run = prompt index × seeds + seed index).</summary>
public sealed record ProbedRunInfo(int Run, int PromptIndex, string Prompt, long Seed);
