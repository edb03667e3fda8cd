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

    private GenerationRequest RequestFor(int prompt, long seed) => SinkArms.RequestFor(options, prompt, seed);

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
            var temperatures = SweepTemperature(baselines, detection);
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
        var arms = SinkArms.Ablations(options.AblationModes);
        int total = arms.Count * baselines.Count, done = 0;
        foreach (var arm in arms)
        {
            var runs = new List<ArmMeasure>();
            foreach (var baseline in baselines)
            {
                Report("ablation", done++, total);
                runs.Add(SinkArms.Ablate(pipeline, options, baseline, RunSinks(detection, baseline), arm));
            }
            _samples.AddRange(runs.Select((m, i) => SinkArms.Sample(arm.Name, Info(baselines[i]), m)));
            summaries.Add(SinkArms.Summary(arm, SinkAblationStudy.Count(RunSinks(detection, baselines[0])), runs));
        }
        Report("ablation", total, total);
        return summaries;
    }

    /// <summary>Entropy, sink mass and output quality for each τ (and τ with the sparsifier), vs the τ = 1 baselines.</summary>
    public IReadOnlyList<TemperaturePoint> SweepTemperature(IReadOnlyList<ProbedRun> baselines, SinkDetection detection)
    {
        var points = new List<TemperaturePoint>();
        var arms = SinkArms.Temperatures(options.Taus, options.Sparsify);
        if (arms.Count == 0) return points;
        int total = (arms.Count - 1) * baselines.Count, done = 0;
        foreach (var arm in arms)
        {
            var runs = new List<ArmMeasure>();
            foreach (var baseline in baselines)
            {
                if (!arm.IsBaseline) Report("temperature", done++, total);
                runs.Add(SinkArms.Temper(pipeline, options, baseline, RunSinks(detection, baseline), arm));
            }
            _samples.AddRange(runs.Select((m, i) => SinkArms.Sample(arm.NameWith(options.Sparsify), Info(baselines[i]), m)));
            points.Add(SinkArms.Point(arm, options.Sparsify, runs));
        }
        Report("temperature", total, total);
        return points;
    }

    private static IReadOnlyList<SiteSinks> RunSinks(SinkDetection detection, ProbedRun run) => detection.PerRun.Where(s => s.Run == run.Run).ToList();

    private ProbedRunInfo Info(ProbedRun run) => new(run.Run, PromptIndex(run), run.Prompt, run.Seed);

    private int PromptIndex(ProbedRun run) => SinkArms.PromptOf(options, run.Run);

    /// <summary>Block-output keys that hold video tokens only (see <see cref="BlockHooks"/>).</summary>
    private bool IsVideoStream(string key) =>
        key.EndsWith(BlockHooks.VideoSuffix, StringComparison.Ordinal) && pipeline.Transformer.Hooks.Names.Contains(key[..^BlockHooks.VideoSuffix.Length]);

    private void Report(string stage, int done, int total) => Progress?.Report(new SinkStudyProgress(stage, done, total));
}
