using System.CommandLine;
using System.Text.Json.Nodes;
using VDiTLens.Cli.Commands;
using VDiTLens.Tests.Models.Llama;
using VDiTLens.Tests.Pipelines;

namespace VDiTLens.Tests.Cli;

/// <summary>The <c>sinks</c> and <c>retrain</c> verbs end to end on the random pixel-space pipeline (tiny sizes).</summary>
[Collection(VDiTLens.Tests.TestSupport.ConsoleCollection.Name)]
public sealed class SinksCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vditlens-sinks-" + Guid.NewGuid().ToString("N"));

    private static readonly string[] Small =
    {
        "--prompt", "a red circle moving left", "--steps", "2", "--frames", "3", "--height", "8", "--width", "8",
        "--max-sequence-length", "6", "--device", "cpu", "--dtype", "float32",
    };

    private static int Run(Command command, params string[] args) =>
        new RootCommand { command }.Parse(new[] { command.Name }.Concat(args).ToArray())
            .Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });

    [Fact]
    public void Sinks_writes_detection_ablation_temperature_llm_and_a_report_section()
    {
        using var pipeline = new PixelSpacePipeline();
        string llm = LlamaReferenceTests.WriteRandom(LlamaReferenceTests.TinyConfig(false), false);
        try
        {
            string report = Path.Combine(_dir, "report");
            Assert.Equal(0, Run(SinksCommand.Create(), Small.Concat(new[] { "--model", pipeline.Path, "--seeds", "0", "--ablation", "mask",
                "--tau", "0.5", "--sparsify", "bottom_k:0.5", "--llm", llm, "--llm-length", "12", "--out", report }).ToArray()));
            foreach (var file in new[] { "detection.json", "sinks_per_step.csv", "sink_mass_self.svg", "sink_mass_cross.svg", "maps/blocks.1.attn1.svg",
                         "characterisation.json", "ablation.csv", "temperature.csv", "llm.json",
                         "llm_first_token_share.svg", "llm_first_token_share.csv", "llm_pattern.svg", "llm_pattern.json" })
                Assert.True(File.Exists(Path.Combine(report, "sinks", file)), file);
            var temperature = File.ReadAllLines(Path.Combine(report, "sinks", "temperature.csv"));
            Assert.Equal(5, temperature.Length); // header, τ=1, τ=0.5, then τ=1 and τ=0.5 with bottom_k
            // one row per (arm, prompt, seed): 2 ablation arms and 4 temperature arms (τ = 1, the baseline, included) of the one run; each the arm's mean here
            var samples = File.ReadAllLines(Path.Combine(report, "sinks", "samples.csv"));
            Assert.Equal(1 + 2 + 4, samples.Length);
            var ablation = File.ReadAllLines(Path.Combine(report, "sinks", "ablation.csv"));
            Assert.StartsWith("sinks masked (", ablation[1]);
            Assert.Equal(ablation[1].Split(',')[2], samples.Single(l => l.StartsWith("sinks masked,", StringComparison.Ordinal)).Split(',')[4]);
            Assert.Equal(temperature[2].Split(',')[1], samples.Single(l => l.StartsWith("τ=0.5,", StringComparison.Ordinal)).Split(',')[9]);
            var detection = JsonNode.Parse(File.ReadAllText(Path.Combine(report, "sinks", "detection.json")))!;
            Assert.Equal(4, detection["Aggregate"]!.AsArray().Count); // 2 blocks × (self, cross)
            Assert.Contains("Attention sinks", File.ReadAllText(Path.Combine(report, "index.html")));
            Assert.Contains("Causal language model", File.ReadAllText(Path.Combine(report, "index.html")));

            // merge rebuilds the section from the cells, without the language model: its part stays
            Assert.Equal(0, Run(MergeCommand.Create(), "--out", report));
            Assert.Contains("Causal language model", File.ReadAllText(Path.Combine(report, "index.html")));
            Assert.Contains("href=\"sinks/llm_pattern.svg\"", File.ReadAllText(Path.Combine(report, "index.html")));
        }
        finally { Directory.Delete(llm, true); }
    }

    [Fact]
    public void Sinks_with_only_llm_measures_only_the_shipped_tiny_lm()
    {
        string report = Path.Combine(_dir, "report");
        Assert.Equal(0, Run(SinksCommand.Create(), "--llm", VDiTLens.Tests.Studies.Sinks.TinyLmSinkTests.Folder, "--llm-sequences", "8",
            "--llm-text", "language", "--device", "cpu", "--dtype", "float32", "--out", report));
        Assert.False(File.Exists(Path.Combine(report, "sinks", "detection.json"))); // no video study without --model
        var llm = JsonNode.Parse(File.ReadAllText(Path.Combine(report, "sinks", "llm.json")))!;
        Assert.Contains("sinks are positional, on the first token", llm["verdict"]!["Statement"]!.GetValue<string>()); // measured: docs/sinks.md
        Assert.DoesNotContain("of the first token = 0 [", llm["causal"]!.GetValue<string>());
        Assert.Equal(8, llm["profile"]!["Causal"]!["Sequences"]!.GetValue<int>());
        Assert.Equal("held-out sequences of its token language", llm["input"]!.GetValue<string>());
        string index = File.ReadAllText(Path.Combine(report, "index.html"));
        Assert.Contains("Causal language model", index);
        // The pictures: α₀ per layer and head (one row per head in the CSV, equal to llm.json's) and the largest head's pattern.
        foreach (var file in new[] { "llm_first_token_share.svg", "llm_pattern.svg" })
        {
            Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(report, "sinks", file)));
            Assert.Contains($"href=\"sinks/{file}\"", index);
        }
        var perHead = llm["profile"]!["Causal"]!["Layers"]!.AsArray().SelectMany(l => l!["FirstKeyMassPerHead"]!.AsArray().Select(a => a!.GetValue<double>())).ToArray();
        var csv = File.ReadAllLines(Path.Combine(report, "sinks", "llm_first_token_share.csv")).Skip(1)
            .Select(l => double.Parse(l.Split(',')[3], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(perHead, csv);
        var pattern = JsonNode.Parse(File.ReadAllText(Path.Combine(report, "sinks", "llm_pattern.json")))!;
        Assert.Equal(perHead.Max(), pattern["FirstTokenShare"]!.GetValue<double>());
        Assert.Equal(32, pattern["Probabilities"]!.AsArray().Count);
    }

    [Fact]
    public void Retrain_trains_saves_a_pipeline_compares_and_resumes()
    {
        using var pipeline = new PixelSpacePipeline();
        string work = Path.Combine(_dir, "work"), report = Path.Combine(_dir, "report");
        string[] args = Small.Concat(new[] { "--prompt", "a blue square moving down", "--held-out", "1", "--model", pipeline.Path, "--blocks", "1", "--train-steps", "3", "--checkpoint-every", "2",
            "--pool-seeds", "1", "--guidance", "1", "--out", work, "--report", report }).ToArray();
        Assert.Equal(0, Run(RetrainCommand.Create(), args));
        Assert.True(File.Exists(Path.Combine(work, "pipeline", "transformer", "diffusion_pytorch_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(work, "checkpoint", "state.json")));
        var table = File.ReadAllLines(Path.Combine(report, "retrain", "before_after.csv"));
        Assert.Contains(table, l => l.StartsWith("blocks.1.attn1 sink mass,", StringComparison.Ordinal));
        Assert.Contains(table, l => l.StartsWith("dense fidelity to the original: PSNR dB,", StringComparison.Ordinal));
        // the measurement ran on the held-out prompt only
        Assert.Contains("all held out of the training pool", File.ReadAllText(Path.Combine(report, "index.html")));
        // a second run with more steps resumes from the checkpoint (3 done) instead of starting over
        Assert.Equal(0, Run(RetrainCommand.Create(), args.Select(a => a == "3" ? "4" : a).ToArray()));
        Assert.Contains("\"Step\": 4", File.ReadAllText(Path.Combine(work, "checkpoint", "state.json")));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); }
        catch (IOException) { }
    }
}
