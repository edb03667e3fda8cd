using System.Text;
using VDiTLens.Models.Llama;
using VDiTLens.Pipelines;
using VDiTLens.Reports;
using VDiTLens.Studies.Sinks.Statistics;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>
/// The sink study's report: a study's findings (and optionally the same metrics on a causal language model), written
/// into the report's "sinks" section and its data folder.
/// </summary>
public sealed class SinkStudyReport(HtmlReport report)
{
    private readonly StringBuilder _html = new();
    private bool _languageModelAdded;

    public string Folder => Path.Combine(report.Folder, "sinks");

    /// <summary>The language model's part of the section, kept beside <c>llm.json</c> so that a report rebuilt without the model (<c>merge</c>) keeps it.</summary>
    public string LanguageModelPart => Path.Combine(Folder, "llm.html");

    /// <summary>
    /// Adds detection, the length-invariant statistics, characterisation (when measured), ablation and temperature parts
    /// of a study's findings; <see cref="SinkFindings.Model"/> names the model in the verdict.
    /// </summary>
    public SinkVerdict AddStudy(SinkFindings f)
    {
        var verdict = SinkVerdict.Of(f.Detection.Aggregate.Where(s => s.Kind is "self" or "joint").ToList(), f.Model);
        _html.Append(SinkReportWriter.WriteDetection(report, f.Detection, f.Baselines, verdict));
        var statistics = SinkStatisticsAnalysis.Analyse(SiteObservations.From(f.Baselines, f.Sites),
            new SinkStatisticsOptions(f.Criteria.TopK, f.Criteria.Epsilon), f.TextClusters);
        _html.Append(SinkStatisticsReport.Write(report, statistics));
        if (f.Characterisation is not null) _html.Append(SinkReportWriter.WriteCharacterisation(report, f.Characterisation));
        if (f.Ablations.Count > 0)
            _html.Append(SinkReportWriter.WriteOutputs(report, "ablation", "Ablation: sinks vs as many random keys", f.Ablations));
        if (f.Samples.Count > 0) SinkReportWriter.WriteSamples(report, f.Samples);
        if (f.Temperatures.Count > 0)
            _html.Append(SinkReportWriter.WriteOutputs(report, "temperature", "Temperature sweep (vs τ = 1)",
                f.Temperatures.Select(p => p.Output).ToList(), f.Temperatures));
        return verdict;
    }

    /// <summary>
    /// The same metrics on a causal language model fed <paramref name="ids"/> [sequences, length] (described by
    /// <paramref name="input"/>): <c>llm.json</c>, a table per layer, the first-token share per head and one sequence's
    /// attention pattern as charts (<see cref="LlmSinkCharts"/>), and the two verdicts (the detector's and the causal statistics').
    /// </summary>
    public (SinkVerdict Verdict, LlmSinkProfile Profile) AddLanguageModel(LlamaForCausalLM lm, string name, SinkCriteria criteria, Tensor ids, string input)
    {
        var profile = LlmSinkProfile.Measure(lm, criteria, ids);
        var verdict = SinkVerdict.Of(profile.Layers, name);
        Directory.CreateDirectory(Folder);
        SinkReportWriter.WriteJson(Path.Combine(Folder, "llm.json"), new { input, verdict, causal = profile.Causal.Statement(name), profile });
        static string Ci(VDiTLens.Statistics.Estimate e) => $"{e.Value:F3} [{e.Low:F3}, {e.High:F3}]";
        var part = new StringBuilder().Append($"<h3>Causal language model ({HtmlReport.Escape(name)}, {HtmlReport.Escape(input)})</h3><p>{HtmlReport.Escape(profile.Causal.Statement(name))}</p><p>{HtmlReport.Escape(verdict.Statement)}</p>")
            .Append(HtmlReport.Table(new[] { "layer", "first-token α (uniform causal)", "top-1 share", "top key per head", "Sink^ε of the first token",
                    "peak ratio (all queries)", "sinks", "|k| sink/other", "|v| sink/other" },
                profile.Causal.Layers.Zip(profile.Layers, profile.Norms).Select(x => new[]
                {
                    x.First.Site, $"{Ci(x.First.FirstKeyMass)} ({x.First.UniformFirstKeyMass:F3})", Ci(x.First.TopShare), string.Join(" ", x.First.TopKeyPerHead),
                    Ci(x.First.SinkEpsilon), SinkReportWriter.Format(x.Second.PeakRatio), string.Join(" ", x.Second.Positions.Take(4)),
                    SinkReportWriter.Format(x.Third.KeyRatio), SinkReportWriter.Format(x.Third.ValueRatio),
                })))
            .Append(LlmSinkCharts.Write(report, profile, LlmAttentionPattern.Of(lm, profile, ids), name));
        File.WriteAllText(LanguageModelPart, part.ToString());
        _html.Append(part);
        _languageModelAdded = true;
        return (verdict, profile);
    }

    /// <summary>
    /// Writes the "sinks" section of the report's index.html; the language model's part measured earlier into this folder
    /// stays in it when no model was measured this time.
    /// </summary>
    public void Write()
    {
        if (!_languageModelAdded && File.Exists(LanguageModelPart)) _html.Append(File.ReadAllText(LanguageModelPart));
        report.WriteSection(SinkReportWriter.SectionOrder, "sinks", "Attention sinks", _html.ToString());
    }
}
