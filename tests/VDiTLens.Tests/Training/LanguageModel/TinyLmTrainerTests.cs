using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Llama;
using VDiTLens.Runtime;
using VDiTLens.Training.LanguageModel;

namespace VDiTLens.Tests.Training.LanguageModel;

/// <summary>The tiny-LM trainer on a very small shape: it learns, resumes exactly, and writes a folder the Llama loader reads.</summary>
public sealed class TinyLmTrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vditlens-tinylm-" + Guid.NewGuid().ToString("N"));
    private static readonly TinyLmShape Small = new(Layers: 2, HiddenSize: 32, Heads: 2, IntermediateSize: 64, MaxPositions: 64);
    private static readonly TinyLmOptions Fast = new(Steps: 40, BatchSize: 8, SequenceLength: 24, LearningRate: 3e-3, WarmupSteps: 5, Seed: 1, CheckpointEvery: 20, LogEvery: 10);

    private TinyLmResult Train(string name, TinyLmOptions options, bool resume = false, int? stopAt = null)
    {
        using var cancel = new CancellationTokenSource();
        var progress = new Stop(p => { if (p.Step >= stopAt) cancel.Cancel(); });
        return TinyLmTrainer.Run(new TinyLmRun(Small, options, Path.Combine(_dir, name, "work"), Path.Combine(_dir, name, "out"), resume, "cpu"), torch.CPU,
            progress, cancel.Token);
    }

    private sealed class Stop(Action<VDiTLens.Training.TrainingProgress> report) : IProgress<VDiTLens.Training.TrainingProgress>
    {
        public void Report(VDiTLens.Training.TrainingProgress value) => report(value);
    }

    [Theory]
    [InlineData(BigramBackcopyLanguage.LanguageName)]
    [InlineData(TokenLanguage.LanguageName)]
    public void A_few_steps_reduce_the_held_out_loss_and_the_folder_loads_with_the_same_logits(string language)
    {
        TorchRuntime.Initialise();
        var options = Fast with { Language = language };
        int vocabulary = options.TokenLanguage().Tokens.Count;
        var untrained = Train("init", options with { Steps = 0 });
        var trained = Train("trained", options);
        // Untrained: about ln(vocabulary) nats per token.
        Assert.InRange(untrained.Evaluation.Loss, Math.Log(vocabulary) - 0.2, Math.Log(vocabulary) + 0.2);
        Assert.True(trained.Evaluation.Loss < untrained.Evaluation.Loss - 0.5, $"held-out loss {untrained.Evaluation.Loss:F3} → {trained.Evaluation.Loss:F3} after 40 steps");
        var log = File.ReadAllLines(trained.LossLogPath);
        Assert.Equal(5, log.Length); // header + steps 10, 20, 30, 40
        // The emergence curve: the initialised model (step 0) and each checkpoint (20, 40), every layer.
        var emergence = VDiTLens.Training.EmergenceRecorder.Read(trained.EmergencePath);
        Assert.Equal(new[] { 0, 20, 40 }, emergence.Where(p => p.Metric == "sink_epsilon").Select(p => p.Step));
        Assert.Equal(3 * Small.Layers, emergence.Count(p => p.Metric == "first_token_share"));
        // Its plot beside it, redrawn at every checkpoint: the last step's model Sink^ε is a marker.
        string plot = Path.Combine(Path.GetDirectoryName(trained.EmergencePath)!, VDiTLens.Training.EmergencePlot.FileName);
        var last = emergence.Single(p => p.Step == 40 && p.Metric == "sink_epsilon").Value.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"<title>model — training step 40, Sink^ε {last} [", File.ReadAllText(plot));

        using var loaded = LlamaForCausalLM.Load(trained.OutputFolder, ComputeOptions.Cpu32);
        Assert.Equal(vocabulary, loaded.Config.vocab_size);
        Assert.Equal(0, ModelFolder.Open(trained.OutputFolder).Config["bos_token_id"]!.GetValue<long>());
        Assert.Equal(language, TokenLanguages.OfFolder(trained.OutputFolder).Name);
        var reloaded = TinyLmEvaluation.Of(loaded, options.TokenLanguage(), options.Seed, TinyLmTrainer.EvaluationSequences, options.SequenceLength);
        Assert.Equal(trained.Evaluation.Loss, reloaded.Loss, 5);
        Assert.Equal(trained.Evaluation.AnswerAccuracy, reloaded.AnswerAccuracy, 12);
    }

    [Fact]
    public void A_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one()
    {
        TorchRuntime.Initialise();
        var straight = Train("straight", Fast with { Steps = 30, CheckpointEvery = 10 });
        Assert.Equal(20, Train("resumed", Fast with { Steps = 30, CheckpointEvery = 10 }, stopAt: 20).StepsDone); // interrupted after step 20
        var resumed = Train("resumed", Fast with { Steps = 30, CheckpointEvery = 10 }, resume: true);
        Assert.Equal(30, resumed.StepsDone);
        using var a = SafeTensorsFile.Open(Path.Combine(straight.OutputFolder, "model.safetensors"));
        using var b = SafeTensorsFile.Open(Path.Combine(resumed.OutputFolder, "model.safetensors"));
        var wa = a.LoadAll(torch.CPU);
        var wb = b.LoadAll(torch.CPU);
        Assert.Equal(wa.Keys.Order(), wb.Keys.Order());
        foreach (var (name, t) in wa)
            Assert.True(t.eq(wb[name]).all().item<bool>(), $"{name} differs after resuming");
        Assert.Equal(new[] { "step,loss,lr,seconds", "10", "20", "30" }, File.ReadAllLines(resumed.LossLogPath).Select(l => l.Split(',')[0] == "step" ? l : l.Split(',')[0]));
    }

    [Fact]
    public void Bad_options_are_refused_by_field_name()
    {
        Assert.Contains("Language \"english\"", Assert.Throws<VDiTLensException>(() => (Fast with { Language = "english" }).Validate()).Message);
        Assert.Contains("BatchSize 0", Assert.Throws<VDiTLensException>(() => (Fast with { BatchSize = 0 }).Validate()).Message);
        Assert.Contains("HiddenSize 30", Assert.Throws<VDiTLensException>(() => new TinyLmShape(HiddenSize: 30, Heads: 4).Config(65)).Message);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); }
        catch (IOException) { }
    }
}
