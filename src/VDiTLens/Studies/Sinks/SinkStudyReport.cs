using System.Text;
using VDiTLens.Models.Llama;
using VDiTLens.Pipelines;
using VDiTLens.Reports;
using VDiTLens.Studies.Sinks.Statistics;

namespace VDiTLens.Studies.Sinks;

/// <summary>
/// The sink study as the command line runs it: the study on a pipeline (and optionally the same metrics on a causal
/// language model), written into the report's "sinks" section and its data folder.
/// </summary>
public sealed class SinkStudyReport(HtmlReport report)
{
    private readonly StringBuilder _html = new();

    public string Folder => Path.Combine(report.Folder, "sinks");

    /// <summary>Runs the study and adds detection, the length-invariant statistics, characterisation, ablation and temperature parts; <paramref name="model"/> names the model in the verdict.</summary>
    public (SinkStudyResult Result, SinkVerdict Verdict) AddStudy(ITextToVideoPipeline pipeline, SinkStudyOptions options, string model,
        IProgress<SinkStudyProgress>? progress = null)
    {
        SinkVerdict verdict = null!;
        var result = new SinkStudy(pipeline, options) { Progress = progress }.Run((baselines, r) =>
        {
            verdict = SinkVerdict.Of(r.Detection.Aggregate.Where(s => s.Kind is "self" or "joint").ToList(), model);
            _html.Append(SinkReportWriter.WriteDetection(report, r.Detection, baselines, verdict));
            var statistics = SinkStatisticsAnalysis.Analyse(SiteObservations.From(baselines, pipeline.Sites),
                new SinkStatisticsOptions(options.Criteria.TopK, options.Criteria.Epsilon), TextKeyClusters.Find(pipeline, options.Template, options.Prompts));
            _html.Append(SinkStatisticsReport.Write(report, statistics));
            _html.Append(SinkReportWriter.WriteCharacterisation(report, r.Characterisation));
            if (r.Ablations.Count > 0)
                _html.Append(SinkReportWriter.WriteOutputs(report, "ablation", "Ablation: sinks vs as many random keys", r.Ablations));
            if (r.Samples.Count > 0) SinkReportWriter.WriteSamples(report, r.Samples);
            if (r.Temperatures.Count > 0)
                _html.Append(SinkReportWriter.WriteOutputs(report, "temperature", "Temperature sweep (vs τ = 1)",
                    r.Temperatures.Select(p => p.Output).ToList(), r.Temperatures));
        });
        return (result, verdict);
    }

    /// <summary>The same metrics on a causal language model (<paramref name="sequences"/> random sequences of <paramref name="length"/> tokens after BOS).</summary>
    public SinkVerdict AddLanguageModel(LlamaForCausalLM lm, string name, SinkCriteria criteria, int length, long seed, long? bosId, int sequences = 4)
    {
        var profile = LlmSinkProfile.Measure(lm, criteria, length, sequences, seed, bosId);
        var verdict = SinkVerdict.Of(profile.Layers, name);
        Directory.CreateDirectory(Folder);
        SinkReportWriter.WriteJson(Path.Combine(Folder, "llm.json"), new { verdict, profile });
        _html.Append($"<h3>Causal language model ({HtmlReport.Escape(name)})</h3><p>{HtmlReport.Escape(verdict.Statement)}</p>")
            .Append(HtmlReport.Table(new[] { "layer", "peak ratio", "sink mass", "sinks", "|k| sink/other", "|v| sink/other" },
                profile.Layers.Zip(profile.Norms).Select(x => new[] { x.First.Site, SinkReportWriter.Format(x.First.PeakRatio), SinkReportWriter.Format(x.First.SinkMass),
                    string.Join(" ", x.First.Positions.Take(4)), SinkReportWriter.Format(x.Second.KeyRatio), SinkReportWriter.Format(x.Second.ValueRatio) })));
        return verdict;
    }

    /// <summary>Writes the "sinks" section of the report's index.html.</summary>
    public void Write() => report.WriteSection(SinkReportWriter.SectionOrder, "sinks", "Attention sinks", _html.ToString());
}
