using System.CommandLine;
using Spectre.Console;
using VDiTLens.Cli.Options;
using VDiTLens.Cli.Progress;
using VDiTLens.Interventions;
using VDiTLens.Models.Llama;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using VDiTLens.Procedural;
using VDiTLens.Reports;
using VDiTLens.Studies;
using VDiTLens.Studies.Sinks;
using VDiTLens.Attention;
using VDiTLens.Studies.Scale;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens sinks</c>: detection, characterisation, ablation and temperature sweep of attention sinks.</summary>
internal static class SinksCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions();
        var prompts = new PromptOptions(defaultCount: 4, defaultSeeds: new long[] { 0, 1 });
        var sites = new Option<string?>("--sites") { Description = "sites to measure (names, prefixes*, self, cross); default all" };
        var probeSteps = new Option<string?>("--probe-steps") { Description = "denoising steps to measure (comma list); default all" };
        var ratio = new Option<double>("--ratio") { Description = "a key is a sink in a head when it receives ≥ this × the mean key", DefaultValueFactory = _ => 10 };
        var epsilon = new Option<double>("--epsilon") { Description = "ε of Sink^ε (share of heads giving the key more than ε)", DefaultValueFactory = _ => 0.3 };
        var topK = new Option<int>("--top-k") { Description = "size of the top-receiver sets compared by Jaccard", DefaultValueFactory = _ => 5 };
        var ablation = ListOption.Of("--ablation", (string s, out SinkAblationMode[] m) => Mode(s, out m), "an ablation mode (mask, zero or none)",
            "ablation modes: mask, zero (comma list), or none", new[] { new[] { SinkAblationMode.Mask }, new[] { SinkAblationMode.ZeroValues } });
        var taus = ListOption.Of("--tau", (string s, out double[] t) => Tau(s, out t), "a temperature (a number, or none)",
            "temperature sweep (comma list; 1 is the baseline), or none", new[] { new[] { 0.5 }, new[] { 0.75 }, new[] { 1.5 }, new[] { 2.0 } });
        var tauSites = ListOption.Strings("--tau-sites", "sites the temperature applies to (self: Wan; joint: CogVideoX, Mochi)", new[] { "self", "joint" });
        var tauHeads = ListOption.Longs("--tau-heads", "heads the temperature applies to (default all)", Array.Empty<long>());
        var sparsify = new Option<string?>("--sparsify") { Description = "also run each τ with this sparsifier, e.g. bottom_k:0.5" };
        var sparsifySites = ListOption.Strings("--sparsify-sites", "sites the sparsifier applies to", new[] { "self", "joint" });
        var characteriseStep = new Option<int?>("--characterise-step") { Description = "step at which k/v norms and the residual stream are captured (default: middle)" };
        var llm = new Option<string?>("--llm") { Description = "Hugging Face Llama folder: measure the same metrics on a causal language model (alone when --model is not given)" };
        var llmLength = new Option<int>("--llm-length") { Description = "tokens per LLM sequence (random ids after BOS)", DefaultValueFactory = _ => 64 };
        var llmSequences = new Option<int>("--llm-sequences") { Description = "LLM sequences (the CIs are over sequences)", DefaultValueFactory = _ => 32 };
        var llmText = new Option<string>("--llm-text") { Description = "LLM input: random (uniform random ids after BOS) or language (held-out sequences of the token language a train-tiny-lm folder was trained on)", DefaultValueFactory = _ => "random" };
        llmText.AcceptOnlyFromAmong("random", "language");
        var memory = new Option<long>("--probe-memory-mb") { DefaultValueFactory = _ => 256 };
        var shard = ShardOption.Create();
        var dryRun = DryRunOption.Create();
        var command = new Command("sinks", "Attention sinks: detection, key/value and residual characterisation, ablation vs random keys, temperature sweep");
        study.AddTo(command);
        prompts.AddTo(command);
        foreach (var o in new Option[] { sites, probeSteps, ratio, epsilon, topK, ablation, taus, tauSites, tauHeads, sparsify, sparsifySites, characteriseStep, llm, llmLength, llmSequences, llmText, memory, shard, dryRun })
            command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(r =>
        {
            var compute = common.Resolve(r);
            var (given, specs) = StudyPrompts.Of(prompts.Given(r), prompts.CountOf(r));
            var criteria = new SinkCriteria(r.GetValue(ratio), r.GetValue(epsilon), r.GetValue(topK));
            criteria.Validate();
            string outPath = r.GetValue(study.Out)!;
            var part = r.GetValue(shard) ?? Shard.All;
            bool videoStudy = r.GetValue(llm) is null || r.GetValue(study.Model) is not null; // --llm alone measures only the language model
            if (r.GetValue(llm) is not null && (!part.IsAll || r.GetValue(dryRun)))
                throw new VDiTLensException("--llm runs in one process: measure the language model alone (--llm without --model, into another --out), and shard the video study");
            if (!videoStudy) return Report(outPath, requireComplete: false, addLanguageModel: AddLanguageModel);
            string model = study.ModelPath(r);
            var loading = System.Diagnostics.Stopwatch.StartNew();
            using (var pipeline = TextToVideoPipelines.Load(model, compute))
            {
                double loadSeconds = loading.Elapsed.TotalSeconds;
                var options = new SinkStudyOptions
                {
                    Template = study.Request(r, StudyDefaults.For(pipeline, model)),
                    Prompts = given,
                    Specs = StudyDefaults.Evaluates(pipeline, model) ? specs : Array.Empty<ClipSpec?>(),
                    Seeds = r.GetValue(prompts.Seeds)!,
                    Sites = AttentionSelector.Parse(r.GetValue(sites), null, r.GetValue(probeSteps), null, null),
                    Criteria = criteria,
                    AblationModes = r.GetValue(ablation)!.SelectMany(m => m).Distinct().ToArray(),
                    Taus = r.GetValue(taus)!.SelectMany(t => t).ToArray(),
                    TauScope = new AttentionSelector { Sites = r.GetValue(tauSites)!, Heads = r.GetValue(tauHeads)! },
                    Sparsify = r.GetValue(sparsify),
                    SparsifyScope = new AttentionSelector { Sites = r.GetValue(sparsifySites)! },
                    CharacteriseStep = r.GetValue(characteriseStep),
                    MemoryBudgetBytes = r.GetValue(memory) << 20,
                    ControlSeed = compute.Seed,
                };
                var settings = SinkSettings.Of(options, Path.GetFileName(Path.GetFullPath(model)),
                    $"{Path.GetFullPath(model)}|{compute.Device}|{Runtime.ComputeOptions.NameOf(compute.DType)}");
                if (r.GetValue(dryRun))
                {
                    DryRun(pipeline, options, settings, part, loadSeconds);
                    return 0;
                }
                string runFolder = SinkRun.RunFolder(outPath);
                var folder = SinkRun.Open(runFolder, settings);
                var done = StageProgress.Run(progress => SinkRun.RunShard(folder, pipeline, options, settings, part, progress));
                if (!part.IsAll)
                {
                    ShardSummary.Print(part, done, runFolder, outPath);
                    return 0;
                }
            }
            return Report(outPath, requireComplete: false, addLanguageModel: r.GetValue(llm) is null ? null : AddLanguageModel);

            void AddLanguageModel(SinkStudyReport report)
            {
                string llmPath = r.GetValue(llm)!;
                using var lm = LlamaForCausalLM.Load(llmPath, compute);
                long? bos = IO.ModelFolder.Open(llmPath).Config["bos_token_id"]?.GetValue<long>();
                string name = Path.GetFileName(Path.GetFullPath(llmPath));
                int length = r.GetValue(llmLength), sequences = r.GetValue(llmSequences);
                using var ids = r.GetValue(llmText) == "language"
                    ? Training.LanguageModel.TokenLanguages.Ids(Training.LanguageModel.TokenLanguages.OfFolder(llmPath), compute.Seed, sequences, length)
                    : LlmSinkProfile.RandomIds(lm.Config.vocab_size, sequences, length, compute.Seed, bos);
                var (verdict, profile) = report.AddLanguageModel(lm, name, criteria, ids, r.GetValue(llmText) == "language" ? "held-out sequences of its token language" : "uniform random ids after BOS");
                AnsiConsole.WriteLine(profile.Causal.Statement(name));
                AnsiConsole.WriteLine(verdict.Statement);
            }
        });
        return command;
    }

    /// <summary>
    /// The sinks section from the cells in <paramref name="outPath"/> (also what <c>merge</c> runs; without a video study, only
    /// <paramref name="addLanguageModel"/>'s part); lists missing cells.
    /// </summary>
    public static int Report(string outPath, bool requireComplete = false, Action<SinkStudyReport>? addLanguageModel = null)
    {
        var report = new SinkStudyReport(new HtmlReport(outPath));
        int status = 0;
        if (File.Exists(Path.Combine(SinkRun.RunFolder(outPath), SinkRun.SettingsFile)))
        {
            using var outcome = SinkRun.Collect(SinkRun.RunFolder(outPath));
            AnsiConsole.WriteLine(report.AddStudy(outcome.Findings).Statement);
            status = ShardSummary.Missing("sinks", outcome.Total, outcome.Missing, requireComplete);
        }
        addLanguageModel?.Invoke(report);
        report.Write();
        AnsiConsole.WriteLine($"wrote {report.Folder} and {Path.Combine(outPath, "index.html")}");
        return status;
    }

    /// <summary>Times the first baseline cell (every stage: the measured generation, its sinks, saving) and the report in a scratch folder, and scales by the plan.</summary>
    private static void DryRun(ITextToVideoPipeline pipeline, SinkStudyOptions options, SinkSettings settings, Shard part, double loadSeconds)
    {
        var scratch = Directory.CreateTempSubdirectory("vditlens-dry-run-");
        try
        {
            var one = settings with { Prompts = new[] { settings.Prompts[0] }, Seeds = new[] { settings.Seeds[0] } };
            var oneOptions = options with { Prompts = one.Prompts, Seeds = one.Seeds };
            var folder = SinkRun.Open(SinkRun.RunFolder(scratch.FullName), one);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            SinkRun.RunShard(folder, pipeline, oneOptions, one, Shard.All, maxNewCells: 1);
            double cellSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            using (var outcome = SinkRun.Collect(SinkRun.RunFolder(scratch.FullName)))
                new SinkStudyReport(new HtmlReport(scratch.FullName)).AddStudy(outcome.Findings);
            // The report's analysis reads every baseline: its time grows with the runs.
            double reportSeconds = clock.Elapsed.TotalSeconds * settings.Prompts.Count * settings.Seeds.Count;
            var plan = SinkRun.Plan(settings);
            Estimate.Print(plan, new CellTiming(loadSeconds, 0, cellSeconds, plan.Cells[0].Cost, reportSeconds), part, pipeline.Options.Device.ToString());
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static bool Mode(string text, out SinkAblationMode[] modes)
    {
        modes = text switch
        {
            "mask" => new[] { SinkAblationMode.Mask },
            "zero" => new[] { SinkAblationMode.ZeroValues },
            "none" => Array.Empty<SinkAblationMode>(),
            _ => null!,
        };
        return modes is not null;
    }

    private static bool Tau(string text, out double[] taus)
    {
        taus = text == "none" ? Array.Empty<double>()
            : double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double t) && t > 0 ? new[] { t } : null!;
        return taus is not null;
    }
}
