using VDiTLens.Models.Common;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>Progress of the sink study: a stage name and how many of its generations are done.</summary>
public readonly record struct SinkStudyProgress(string Stage, int Done, int Total);

/// <summary>
/// Detection (prompts × seeds, per site/head/step), characterisation (key/value norms, residual magnitudes),
/// ablation of sinks vs random keys, and the temperature sweep, on one text-to-video pipeline (residual magnitudes need block hooks: Wan only).
/// </summary>
public sealed class SinkStudy(ITextToVideoPipeline pipeline, SinkStudyOptions options)
{
    public IProgress<SinkStudyProgress>? Progress { get; init; }

    private readonly List<SinkSample> _samples = new();

    private IEnumerable<(int Run, int Prompt, long Seed)> Runs =>
        options.Prompts.SelectMany((_, p) => options.Seeds.Select(s => (Run: 0, Prompt: p, Seed: s)))
            .Select((r, i) => r with { Run = i });

    private GenerationRequest RequestFor(int prompt, long seed) =>
        options.Template with { Prompts = new[] { options.Prompts[prompt] }, Seed = seed, InitialLatents = null };

    /// <summary>The baseline generations with their attention measured.</summary>
    public IReadOnlyList<ProbedRun> MeasureBaselines()
    {
        var runs = Runs.ToList();
        var result = new List<ProbedRun>();
        foreach (var (run, prompt, seed) in runs)
        {
            Report("baseline", result.Count, runs.Count);
            result.Add(ProbedGeneration.Run(pipeline, RequestFor(prompt, seed), run, options.Sites, memoryBudgetBytes: options.MemoryBudgetBytes));
        }
        Report("baseline", runs.Count, runs.Count);
        return result;
    }

    /// <summary>Every stage the options ask for: detection and characterisation always, ablation with modes, the temperature sweep with temperatures or a sparsifier.</summary>
    public SinkStudyResult Run() => Run(null);

    /// <summary>
    /// As <see cref="Run()"/>; <paramref name="withBaselines"/> sees the measured baselines and the result before they are
    /// released (the report's detection maps are drawn from them).
    /// </summary>
    public SinkStudyResult Run(Action<IReadOnlyList<ProbedRun>, SinkStudyResult>? withBaselines)
    {
        var baselines = MeasureBaselines();
        try
        {
            var detection = SinkAnalysis.Analyse(baselines, pipeline.Sites, options.Criteria);
            var characterisation = Characterise(baselines[0], detection);
            var ablations = options.AblationModes.Count > 0 ? Ablate(baselines, detection) : Array.Empty<OutputSummary>();
            var temperatures = options.Taus.Count > 0 || options.Sparsify is not null
                ? SweepTemperature(baselines, detection) : Array.Empty<TemperaturePoint>();
            var result = new SinkStudyResult(detection, characterisation, ablations, temperatures) { Samples = _samples.ToList() };
            withBaselines?.Invoke(baselines, result);
            return result;
        }
        finally
        {
            foreach (var b in baselines) b.Dispose();
        }
    }

    /// <summary>Key/value norms at sink vs other positions and residual magnitudes (every block's video stream), at one step of a run (cond branch).</summary>
    public SinkCharacterisation Characterise(ProbedRun run, SinkDetection detection)
    {
        int step = options.CharacteriseStep ?? run.Steps.ElementAt(run.Steps.Count() / 2);
        var filter = options.Sites with { Steps = new[] { step }, Branches = new[] { "cond" } };
        var qkv = new QkvCapture(filter);
        var residuals = new List<ResidualStats>();
        // The residual stream of the video tokens: every block's "hidden" output, whatever the family.
        var model = pipeline.Transformer;
        var state = pipeline.Seam.State;
        // Block outputs hold the video tokens alone, in grid order, whatever the joint layout puts before them.
        var grid = run.Layouts.Values.Select(l => l.Grid).FirstOrDefault(g => g is not null);
        var videoLayout = grid is null ? TokenLayout.Text(0) : TokenLayout.Video(grid);
        model.Hooks.Observer = (key, h) =>
        {
            using (h)
                if (state.Step == step && state.Branch == "cond" && IsVideoStream(key))
                    residuals.Add(ResidualMagnitudes.Measure(key, h, videoLayout));
        };
        Report("characterise", 0, 1);
        try
        {
            using (pipeline.Seam.Attach(qkv))
            using (pipeline.Denoise(RequestFor(PromptIndex(run), run.Seed) with { BatchGuidance = false })) { }
        }
        finally { model.Hooks.Observer = null; }
        Report("characterise", 1, 1);
        using var captured = qkv.Results();
        qkv.Dispose();
        var norms = new List<NormComparison>();
        foreach (var site in detection.PerRun.Where(s => s.Run == run.Run))
            if (captured.TryGetValue(new ProbeKey(new ProbeGroup(site.Site), "k"), out var k) && captured.TryGetValue(new ProbeKey(new ProbeGroup(site.Site), "v"), out var v))
                norms.Add(TokenNorms.Compare(site.Site, k, v, site.Positions.ToArray()));
        return new SinkCharacterisation(step, norms, residuals);
    }

    /// <summary>Each ablation mode on the sinks and on matched random keys, vs the baseline of the same run.</summary>
    public IReadOnlyList<OutputSummary> Ablate(IReadOnlyList<ProbedRun> baselines, SinkDetection detection)
    {
        var summaries = new List<OutputSummary>();
        int total = options.AblationModes.Count * 2 * baselines.Count, done = 0;
        foreach (var mode in options.AblationModes)
            foreach (bool random in new[] { false, true })
            {
                var changes = new List<OutputChange>();
                foreach (var baseline in baselines)
                {
                    Report("ablation", done++, total);
                    var sites = detection.PerRun.Where(s => s.Run == baseline.Run).ToList();
                    var interventions = random
                        ? SinkAblationStudy.RandomAblations(sites, mode, options.ControlSeed)
                        : SinkAblationStudy.SinkAblations(sites, mode);
                    using var changed = ProbedGeneration.Run(pipeline, RequestFor(PromptIndex(baseline), baseline.Seed), baseline.Run,
                        options.Sites, interventions, measure: false);
                    changes.Add(OutputComparison.Compare(changed, baseline, options.SpecOf(PromptIndex(baseline))));
                }
                string arm = $"{(random ? "random" : "sinks")} {(mode == SinkAblationMode.Mask ? "masked" : "values zeroed")}";
                _samples.AddRange(changes.Select((c, i) => new SinkSample(arm, PromptIndex(baselines[i]), baselines[i].Prompt, baselines[i].Seed, c, null, null)));
                string name = $"{arm} ({SinkAblationStudy.Count(detection.PerRun.Where(s => s.Run == baselines[0].Run))} head·keys in run 0)";
                summaries.Add(OutputSummary.Of(name, changes));
            }
        Report("ablation", total, total);
        return summaries;
    }

    /// <summary>Entropy, sink mass and output quality for each τ (and τ with the sparsifier), vs the τ = 1 baselines.</summary>
    public IReadOnlyList<TemperaturePoint> SweepTemperature(IReadOnlyList<ProbedRun> baselines, SinkDetection detection)
    {
        var points = new List<TemperaturePoint> { Point(1.0, false, baselines, baselines, detection) };
        var conditions = options.Taus.Where(t => t != 1.0).Select(t => (Tau: t, Sparse: false)).ToList();
        if (options.Sparsify is not null)
            conditions.AddRange(new[] { 1.0 }.Concat(options.Taus.Where(t => t != 1.0)).Select(t => (Tau: t, Sparse: true)));
        int total = conditions.Count * baselines.Count, done = 0;
        foreach (var (tau, sparse) in conditions)
        {
            var changed = new List<ProbedRun>();
            try
            {
                foreach (var baseline in baselines)
                {
                    Report("temperature", done++, total);
                    var interventions = new List<IAttentionIntervention>();
                    if (tau != 1.0) interventions.Add(new Temperature(tau, options.TauScope));
                    if (sparse) interventions.Add(SparsifySpec.Parse(options.Sparsify!, options.SparsifyScope));
                    changed.Add(ProbedGeneration.Run(pipeline, RequestFor(PromptIndex(baseline), baseline.Seed), baseline.Run,
                        options.Sites, interventions, memoryBudgetBytes: options.MemoryBudgetBytes));
                }
                points.Add(Point(tau, sparse, changed, baselines, detection));
            }
            finally
            {
                foreach (var c in changed) c.Dispose();
            }
        }
        Report("temperature", total, total);
        return points;
    }

    private TemperaturePoint Point(double tau, bool sparse, IReadOnlyList<ProbedRun> runs, IReadOnlyList<ProbedRun> baselines, SinkDetection detection)
    {
        var scoped = new HashSet<string>(pipeline.Sites.Where(s => options.TauScope.Accepts(CallAt(s))).Select(s => s.Name));
        var entropies = new List<double>();
        var sinkMasses = new List<double>();
        var changes = new List<OutputChange>();
        string name = $"τ={tau}{(sparse ? " + " + options.Sparsify : "")}";
        for (int i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            int entropyStart = entropies.Count, massStart = sinkMasses.Count;
            foreach (var ((site, _), e) in run.Entropy.Where(kv => scoped.Contains(kv.Key.Site)))
                entropies.Add(e.to(ScalarType.Float64).mean().item<double>());
            // The probes read the attention as applied, sparsification included.
            foreach (var sinks in detection.PerRun.Where(s => s.Run == run.Run && scoped.Contains(s.Site) && run.Mass.Keys.Any(k => k.Site == s.Site)))
            {
                using var mass = run.StepMean(sinks.Site);
                foreach (var head in sinks.Heads)
                    sinkMasses.Add(head.Sinks.Sum(j => mass[head.Head, j].item<double>()));
            }
            changes.Add(OutputComparison.Compare(run, baselines[i], options.SpecOf(PromptIndex(run))));
            _samples.Add(new SinkSample(name, PromptIndex(run), run.Prompt, run.Seed, changes[^1],
                entropies.Skip(entropyStart).DefaultIfEmpty(double.NaN).Average(), sinkMasses.Skip(massStart).DefaultIfEmpty(double.NaN).Average()));
        }
        return new TemperaturePoint(tau, sparse, entropies.DefaultIfEmpty(double.NaN).Average(), sinkMasses.DefaultIfEmpty(double.NaN).Average(),
            OutputSummary.Of(name, changes));
    }

    private AttentionCall CallAt(AttentionSite site) =>
        new(site, new AttentionRunState(), 1.0, TokenLayout.Text(0), TokenLayout.Text(0));

    private int PromptIndex(ProbedRun run) => run.Run / options.Seeds.Count;

    /// <summary>Block-output keys that hold video tokens only (see <see cref="BlockHooks"/>).</summary>
    private bool IsVideoStream(string key) =>
        key.EndsWith(BlockHooks.VideoSuffix, StringComparison.Ordinal) && pipeline.Transformer.Hooks.Names.Contains(key[..^BlockHooks.VideoSuffix.Length]);

    private void Report(string stage, int done, int total) => Progress?.Report(new SinkStudyProgress(stage, done, total));
}
