using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Procedural;
using VDiTLens.Models.Common;
using VDiTLens.Models.Wan;
using VDiTLens.Runtime;
using VDiTLens.Schedulers;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Text;
using VDiTLens.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Training;

public sealed class TinyTrainerTests(ITestOutputHelper output)
{
    private sealed class StopAt(int step, CancellationTokenSource source) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            if (p.Note is null && p.Step >= step) source.Cancel();
        }
    }

    private static TinyTrainingResult Train(string work, int steps, bool resume = false, int? stopAt = null)
    {
        using var cancel = new CancellationTokenSource();
        var run = new TinyTrainingRun(TinyTestModels.Micro, TinyTestModels.Options(steps), work, Path.Combine(work, "model"), resume, "cpu");
        return TinyTrainer.Run(run, torch.CPU, stopAt is { } s ? new StopAt(s, cancel) : null, cancel.Token);
    }

    [Fact]
    public void Resuming_from_a_checkpoint_continues_exactly_as_an_uninterrupted_run()
    {
        string straight = TinyTestModels.TemporaryFolder(), interrupted = TinyTestModels.TemporaryFolder();
        try
        {
            var full = Train(straight, 4);
            var first = Train(interrupted, 4, stopAt: 2);
            Assert.Equal(2, first.StepsDone);
            var resumed = Train(interrupted, 4, resume: true);
            Assert.Equal(4, resumed.StepsDone);

            foreach (var file in new[] { "model.safetensors", "ema.safetensors", "optimizer.safetensors" })
            {
                using var a = SafeTensorsFile.Open(Path.Combine(straight, "checkpoint", file));
                using var b = SafeTensorsFile.Open(Path.Combine(interrupted, "checkpoint", file));
                Assert.Equal(a.Names.OrderBy(n => n), b.Names.OrderBy(n => n));
                double worst = a.Names.Max(n => { using var x = a.Load(n); using var y = b.Load(n); return Fixtures.RelativeL2(y, x); });
                output.WriteLine($"{file}: worst relative L2 {worst:E3}");
                Assert.True(worst <= 1e-6, $"{file} differs after resume: {worst:E3}");
            }
            var losses = File.ReadAllLines(Path.Combine(interrupted, "loss.csv"));
            Assert.Equal(new[] { "step", "1", "2", "3", "4" }, losses.Select(l => l.Split(',')[0]));
            Assert.True(File.Exists(Path.Combine(interrupted, "loss.png")));
        }
        finally
        {
            Directory.Delete(straight, true);
            Directory.Delete(interrupted, true);
        }
    }

    private sealed class FailAt(int step) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            if (p.Note is null && p.Step >= step) throw new InvalidOperationException("simulated native failure");
        }
    }

    [Fact]
    public void A_failing_step_exports_the_last_checkpoint_and_says_how_to_resume()
    {
        string work = TinyTestModels.TemporaryFolder();
        try
        {
            var run = new TinyTrainingRun(TinyTestModels.Micro, TinyTestModels.Options(6) with { CheckpointEvery = 2 }, work, Path.Combine(work, "model"), false, "cpu");
            var error = Assert.Throws<VDiTLensException>(() => TinyTrainer.Run(run, torch.CPU, new FailAt(3)));
            Assert.Contains("checkpoint of step 2", error.Message);
            Assert.Contains("--resume", error.Message);
            Assert.IsType<InvalidOperationException>(error.InnerException);
            // The exported transformer holds the step-2 checkpoint's EMA weights.
            using var ema = SafeTensorsFile.Open(Path.Combine(work, "checkpoint", "ema.safetensors"));
            using var expected = ema.Load("transformer.proj_out.weight");
            using var exported = SafeTensorsFile.Open(Path.Combine(work, "model", "transformer", "diffusion_pytorch_model.safetensors"));
            using var actual = exported.Load("proj_out.weight");
            Fixtures.AssertClose(actual, expected, 0, "exported proj_out = checkpoint EMA");
            var summary = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(work, "model", "training.json")))!["summary"]!;
            Assert.Equal(2, (int)summary["Steps"]!);
            var resumed = TinyTrainer.Run(run with { Resume = true }, torch.CPU);
            Assert.Equal(6, resumed.StepsDone);
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }

    [Fact]
    public void Written_pipeline_loads_through_the_standard_loaders_and_samples()
    {
        string work = TinyTestModels.TemporaryFolder();
        try
        {
            var result = Train(work, 2);
            string folder = result.OutputFolder;
            var options = ComputeOptions.Cpu32;
            using (var transformer = TransformerLoader.Load(folder, options))
            {
                var wan = Assert.IsType<WanTransformer3DModel>(transformer);
                Assert.Equal(3, wan.Config.in_channels);
                Assert.Equal(new[] { 1, 4, 4 }, wan.Config.patch_size);
                // The saved weights are the EMA ones.
                using var ema = SafeTensorsFile.Open(Path.Combine(work, "checkpoint", "ema.safetensors"));
                using var expected = ema.Load("transformer.proj_out.weight");
                Fixtures.AssertClose(wan.proj_out.weight!, expected, 0, "proj_out = EMA");
            }
            using (var encoder = TextEncoderLoader.Load(folder, options))
            {
                Assert.Equal("UMT5EncoderModel", encoder.ClassName);
                Assert.Equal(TinyTestModels.Micro.TextDModel, encoder.HiddenSize);
            }
            var scheduler = Assert.IsType<FlowMatchEulerDiscreteScheduler>(SchedulerLoader.Load(Path.Combine(folder, "scheduler")));
            Assert.Equal(3.0, scheduler.Config.shift);
            Assert.True(File.Exists(Path.Combine(folder, "training.json")));
            var index = PipelineFolder.Open(folder);
            Assert.Equal("WanPipeline", index.ClassName);
            Assert.False(index.Components.ContainsKey("vae"));

            using var sampler = new TinySampler(folder, options);
            using var a = sampler.Generate(new[] { "a red square moving left slowly on a plain background" }, new long[] { 5 }, steps: 3);
            using var b = sampler.Generate(new[] { "a red square moving left slowly on a plain background" }, new long[] { 5 }, steps: 3);
            Assert.Equal(new long[] { 1, 3, 9, 32, 32 }, a.shape);
            Assert.True(a.isfinite().all().item<bool>());
            Assert.Equal(0.0, Fixtures.RelativeL2(a, b));
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }

    [Fact]
    public void Default_size_fits_the_25_MB_budget()
    {
        TorchRuntime.Initialise();
        using var model = new TinyModel(new TinyModelConfig(), torch.CPU, 0);
        long bytes = model.ParameterCount * 4;
        output.WriteLine($"{model.ParameterCount} parameters, {bytes / 1e6:F2} MB in float32");
        Assert.True(bytes <= 25_000_000, $"{bytes} bytes");
        Assert.Equal(CaptionVocabulary.SingleObjectSize, model.TextEncoder.shared.weight!.shape[0]); // the embedded model's vocabulary
    }
}
