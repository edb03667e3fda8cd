using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using VDiTLens.Interventions;
using VDiTLens.Models.Llama;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using VDiTLens.Procedural;
using VDiTLens.Reports;
using VDiTLens.Studies.Sinks;
using VDiTLens.Studies.Sinks.Statistics;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens sinks</c>: detection, characterisation, ablation and temperature sweep of attention sinks.</summary>
internal static class SinksCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var model = new Option<string>("--model") { Description = "pipeline folder (WanPipeline, CogVideoXPipeline or MochiPipeline)", DefaultValueFactory = _ => "models/vditlens-tiny" };
        var prompt = new Option<string[]>("--prompt") { Description = "prompt (repeat); default: captions of the procedural evaluation set", AllowMultipleArgumentsPerToken = false };
        var promptCount = new Option<int>("--prompt-count") { Description = "how many evaluation-set captions when no --prompt is given", DefaultValueFactory = _ => 4 };
        var seeds = new Option<string>("--seeds") { Description = "comma list of generation seeds", DefaultValueFactory = _ => "0,1" };
        var steps = new Option<int?>("--steps") { Description = $"denoising steps ({StudyDefaults.Help}: 20)" };
        var guidance = new Option<double?>("--guidance") { Description = $"classifier-free guidance scale ({StudyDefaults.Help}: 5)" };
        var frames = new Option<int?>("--frames") { Description = $"frames ({StudyDefaults.Help}: 9)" };
        var height = new Option<int?>("--height") { Description = $"height in pixels ({StudyDefaults.Help}: 32)" };
        var width = new Option<int?>("--width") { Description = $"width in pixels ({StudyDefaults.Help}: 32)" };
        var maxLength = new Option<int?>("--max-sequence-length") { Description = $"prompt tokens ({StudyDefaults.Help}: 16)" };
        var sites = new Option<string?>("--sites") { Description = "sites to measure (names, prefixes*, self, cross); default all" };
        var probeSteps = new Option<string?>("--probe-steps") { Description = "denoising steps to measure (comma list); default all" };
        var ratio = new Option<double>("--ratio") { Description = "a key is a sink in a head when it receives ≥ this × the mean key", DefaultValueFactory = _ => 10 };
        var epsilon = new Option<double>("--epsilon") { Description = "ε of Sink^ε (share of heads giving the key more than ε)", DefaultValueFactory = _ => 0.3 };
        var topK = new Option<int>("--top-k") { Description = "size of the top-receiver sets compared by Jaccard", DefaultValueFactory = _ => 5 };
        var ablation = new Option<string>("--ablation") { Description = "ablation modes: mask, zero (comma list), or none", DefaultValueFactory = _ => "mask,zero" };
        var taus = new Option<string>("--tau") { Description = "temperature sweep (comma list; 1 is the baseline), or none", DefaultValueFactory = _ => "0.5,0.75,1.5,2" };
        var tauSites = new Option<string>("--tau-sites") { Description = "sites the temperature applies to (self: Wan; joint: CogVideoX, Mochi)", DefaultValueFactory = _ => "self,joint" };
        var tauHeads = new Option<string?>("--tau-heads") { Description = "heads the temperature applies to (default all)" };
        var sparsify = new Option<string?>("--sparsify") { Description = "also run each τ with this sparsifier, e.g. bottom_k:0.5" };
        var sparsifySites = new Option<string>("--sparsify-sites") { Description = "sites the sparsifier applies to", DefaultValueFactory = _ => "self,joint" };
        var characteriseStep = new Option<int?>("--characterise-step") { Description = "step at which k/v norms and the residual stream are captured (default: middle)" };
        var llm = new Option<string?>("--llm") { Description = "Hugging Face Llama folder: measure the same metrics on a causal language model" };
        var llmLength = new Option<int>("--llm-length") { Description = "tokens per LLM sequence (random ids after BOS)", DefaultValueFactory = _ => 64 };
        var outDir = new Option<string>("--out") { Description = "report folder", DefaultValueFactory = _ => "out/report" };
        var memory = new Option<long>("--probe-memory-mb") { DefaultValueFactory = _ => 256 };
        var command = new Command("sinks", "Attention sinks: detection, key/value and residual characterisation, ablation vs random keys, temperature sweep");
        foreach (var o in new Option[] { model, prompt, promptCount, seeds, steps, guidance, frames, height, width, maxLength, sites, probeSteps, ratio, epsilon, topK,
                     ablation, taus, tauSites, tauHeads, sparsify, sparsifySites, characteriseStep, llm, llmLength, outDir, memory })
            command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(r =>
        {
            var compute = common.Resolve(r);
            var (prompts, specs) = Prompts(r.GetValue(prompt), r.GetValue(promptCount));
            var criteria = new SinkCriteria(r.GetValue(ratio), r.GetValue(epsilon), r.GetValue(topK));
            criteria.Validate();
            var report = new HtmlReport(r.GetValue(outDir)!);
            using var pipeline = TextToVideoPipelines.Load(r.GetValue(model)!, compute);
            var defaults = StudyDefaults.For(pipeline);
            var options = new SinkStudyOptions
            {
                Template = new GenerationRequest
                {
                    Steps = r.GetValue(steps) ?? defaults.Steps, GuidanceScale = r.GetValue(guidance) ?? defaults.GuidanceScale,
                    Frames = r.GetValue(frames) ?? defaults.Frames, Height = r.GetValue(height) ?? defaults.Height,
                    Width = r.GetValue(width) ?? defaults.Width, MaxSequenceLength = r.GetValue(maxLength) ?? defaults.MaxSequenceLength,
                },
                Prompts = prompts,
                Specs = StudyDefaults.Evaluates(pipeline) ? specs : Array.Empty<ClipSpec?>(),
                Seeds = Longs(r.GetValue(seeds)!, "--seeds"),
                Sites = ProbeFilter.Parse(r.GetValue(sites), r.GetValue(probeSteps), null, null),
                Criteria = criteria,
                AblationModes = Modes(r.GetValue(ablation)!),
                Taus = r.GetValue(taus) is "none" ? Array.Empty<double>() : Doubles(r.GetValue(taus)!, "--tau"),
                TauScope = new InterventionScope { Sites = Split(r.GetValue(tauSites)), Heads = Split(r.GetValue(tauHeads)).Select(long.Parse).ToArray() },
                Sparsify = r.GetValue(sparsify),
                SparsifyScope = new InterventionScope { Sites = Split(r.GetValue(sparsifySites)) },
                CharacteriseStep = r.GetValue(characteriseStep),
                MemoryBudgetBytes = r.GetValue(memory) << 20,
                ControlSeed = compute.Seed,
            };
            var html = new System.Text.StringBuilder();
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var tasks = new Dictionary<string, ProgressTask>();
                    var study = new SinkStudy(pipeline, options)
                    {
                        Progress = new Progress<SinkStudyProgress>(p =>
                        {
                            if (!tasks.TryGetValue(p.Stage, out var t)) tasks[p.Stage] = t = ctx.AddTask(p.Stage, maxValue: Math.Max(1, p.Total));
                            t.Value = p.Done;
                        }),
                    };
                    var baselines = study.MeasureBaselines();
                    try
                    {
                        var detection = SinkAnalysis.Analyse(baselines, pipeline.Sites, criteria);
                        var verdict = SinkVerdict.Of(detection.Aggregate.Where(s => s.Kind is "self" or "joint").ToList(), Path.GetFileName(Path.GetFullPath(r.GetValue(model)!)));
                        html.Append(SinkReportWriter.WriteDetection(report, detection, baselines, verdict));
                        var clusters = TextKeyClusters.Find(pipeline, options.Template, options.Prompts);
                        var statistics = SinkStatisticsAnalysis.Analyse(SiteObservations.From(baselines, pipeline.Sites),
                            new SinkStatisticsOptions(criteria.TopK, criteria.Epsilon), clusters);
                        html.Append(SinkStatisticsReport.Write(report, statistics));
                        html.Append(SinkReportWriter.WriteCharacterisation(report, study.Characterise(baselines[0], detection)));
                        if (options.AblationModes.Count > 0)
                            html.Append(SinkReportWriter.WriteOutputs(report, "ablation", "Ablation: sinks vs as many random keys", study.Ablate(baselines, detection)));
                        if (options.Taus.Count > 0 || options.Sparsify is not null)
                        {
                            var points = study.SweepTemperature(baselines, detection);
                            html.Append(SinkReportWriter.WriteOutputs(report, "temperature", "Temperature sweep (vs τ = 1)", points.Select(p => p.Output).ToList(), points));
                        }
                        AnsiConsole.WriteLine(verdict.Statement);
                    }
                    finally
                    {
                        foreach (var b in baselines) b.Dispose();
                    }
                });
            if (r.GetValue(llm) is { } llmPath)
                html.Append(Llm(report, llmPath, compute, criteria, r.GetValue(llmLength)));
            report.WriteSection(SinkReportWriter.SectionOrder, "sinks", "Attention sinks", html.ToString());
            AnsiConsole.WriteLine($"wrote {Path.Combine(report.Folder, "sinks")} and {Path.Combine(report.Folder, "index.html")}");
            return 0;
        });
        return command;
    }

    private static string Llm(HtmlReport report, string path, Runtime.ComputeOptions compute, SinkCriteria criteria, int length)
    {
        using var lm = LlamaForCausalLM.Load(path, compute);
        long? bos = IO.ModelFolder.Open(path).Config["bos_token_id"]?.GetValue<long>();
        var profile = LlmSinkProfile.Measure(lm, criteria, length, sequences: 4, compute.Seed, bos);
        var verdict = SinkVerdict.Of(profile.Layers, Path.GetFileName(Path.GetFullPath(path)));
        string dir = Path.GetDirectoryName(report.Asset("sinks/x"))!;
        SinkReportWriter.WriteJson(Path.Combine(dir, "llm.json"), new { verdict, profile });
        AnsiConsole.WriteLine(verdict.Statement);
        return $"<h3>Causal language model ({HtmlReport.Escape(path)})</h3><p>{HtmlReport.Escape(verdict.Statement)}</p>"
            + HtmlReport.Table(new[] { "layer", "peak ratio", "sink mass", "sinks", "|k| sink/other", "|v| sink/other" },
                profile.Layers.Zip(profile.Norms).Select(x => new[] { x.First.Site, SinkReportWriter.Format(x.First.PeakRatio), SinkReportWriter.Format(x.First.SinkMass),
                    string.Join(" ", x.First.Positions.Take(4)), SinkReportWriter.Format(x.Second.KeyRatio), SinkReportWriter.Format(x.Second.ValueRatio) }));
    }

    internal static (IReadOnlyList<string>, IReadOnlyList<ClipSpec?>) Prompts(string[]? given, int count)
    {
        if (given is { Length: > 0 }) return (given, given.Select(_ => (ClipSpec?)null).ToArray());
        var set = new ProceduralDataset().EvaluationSet(1).Take(Math.Max(1, count)).ToList();
        return (set.Select(e => e.Caption).ToArray(), set.Select(e => (ClipSpec?)e.Spec).ToArray());
    }

    private static IReadOnlyList<SinkAblationMode> Modes(string text) => text == "none"
        ? Array.Empty<SinkAblationMode>()
        : Split(text).Select(m => m switch
        {
            "mask" => SinkAblationMode.Mask,
            "zero" => SinkAblationMode.ZeroValues,
            _ => throw new VDiTLensException($"--ablation: unknown mode '{m}' (use mask, zero or none)"),
        }).ToArray();

    internal static string[] Split(string? s) =>
        string.IsNullOrWhiteSpace(s) ? Array.Empty<string>() : s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static long[] Longs(string s, string option) => Split(s).Select(x =>
        long.TryParse(x, out long v) ? v : throw new VDiTLensException($"{option}: '{x}' is not an integer")).ToArray();

    private static double[] Doubles(string s, string option) => Split(s).Select(x =>
        double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw new VDiTLensException($"{option}: '{x}' is not a number")).ToArray();
}
