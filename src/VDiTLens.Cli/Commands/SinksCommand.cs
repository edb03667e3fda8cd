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
        var llmText = new Option<string>("--llm-text") { Description = "LLM input: random (uniform random ids after BOS) or language (the procedural token language train-tiny-lm uses)", DefaultValueFactory = _ => "random" };
        llmText.AcceptOnlyFromAmong("random", "language");
        var memory = new Option<long>("--probe-memory-mb") { DefaultValueFactory = _ => 256 };
        var command = new Command("sinks", "Attention sinks: detection, key/value and residual characterisation, ablation vs random keys, temperature sweep");
        study.AddTo(command);
        prompts.AddTo(command);
        foreach (var o in new Option[] { sites, probeSteps, ratio, epsilon, topK, ablation, taus, tauSites, tauHeads, sparsify, sparsifySites, characteriseStep, llm, llmLength, llmSequences, llmText, memory })
            command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(r =>
        {
            var compute = common.Resolve(r);
            var (given, specs) = StudyPrompts.Of(prompts.Given(r), prompts.CountOf(r));
            var criteria = new SinkCriteria(r.GetValue(ratio), r.GetValue(epsilon), r.GetValue(topK));
            criteria.Validate();
            var report = new SinkStudyReport(new HtmlReport(r.GetValue(study.Out)!));
            bool videoStudy = r.GetValue(llm) is null || r.GetValue(study.Model) is not null; // --llm alone measures only the language model
            string model = videoStudy ? study.ModelPath(r) : "";
            if (videoStudy)
            using (var pipeline = TextToVideoPipelines.Load(model, compute))
            {
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
                var (_, verdict) = StageProgress.Run(progress => report.AddStudy(pipeline, options, Path.GetFileName(Path.GetFullPath(model)), progress));
                AnsiConsole.WriteLine(verdict.Statement);
            }
            if (r.GetValue(llm) is { } llmPath)
            {
                using var lm = LlamaForCausalLM.Load(llmPath, compute);
                long? bos = IO.ModelFolder.Open(llmPath).Config["bos_token_id"]?.GetValue<long>();
                string name = Path.GetFileName(Path.GetFullPath(llmPath));
                int length = r.GetValue(llmLength), sequences = r.GetValue(llmSequences);
                using var ids = r.GetValue(llmText) == "language"
                    ? Training.LanguageModel.TokenLanguage.Ids(compute.Seed, sequences, length)
                    : LlmSinkProfile.RandomIds(lm.Config.vocab_size, sequences, length, compute.Seed, bos);
                var (verdict, profile) = report.AddLanguageModel(lm, name, criteria, ids, r.GetValue(llmText) == "language" ? "sequences of the procedural token language" : "uniform random ids after BOS");
                AnsiConsole.WriteLine(profile.Causal.Statement(name));
                AnsiConsole.WriteLine(verdict.Statement);
            }
            report.Write();
            AnsiConsole.WriteLine($"wrote {report.Folder} and {Path.Combine(r.GetValue(study.Out)!, "index.html")}");
            return 0;
        });
        return command;
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
