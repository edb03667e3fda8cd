using TorchSharp;
using VDiTLens.Procedural;
using VDiTLens.Schedulers;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Training;

/// <summary>The options of train-tiny that target the direction of motion, and the data they rely on.</summary>
public sealed class DirectionTrainingTests(ITestOutputHelper output)
{
    private static T Word<T>(string caption) where T : struct, Enum =>
        Enum.GetValues<T>().Single(v => caption.Split(' ').Contains(Palette.Word(v)));

    [Fact]
    public void Training_batch_captions_name_the_colour_shape_and_direction_the_evaluator_reads_from_their_clips()
    {
        TinyTestModels.TemporaryFolder();
        var options = TinyTestModels.Options(10) with { BatchSize = 48, CaptionDropout = 0 };
        var factory = new TrainingBatchFactory(new ProceduralDataset(), options);
        var dataset = new ProceduralDataset();
        int n = 0, colour = 0, shape = 0, direction = 0;
        var perDirection = new Dictionary<MotionDirection, int>();
        foreach (int step in new[] { 0, 1000 })
        {
            using var batch = factory.Build(step);
            for (int i = 0; i < options.BatchSize; i++)
            {
                string caption = dataset.Training((long)step * options.BatchSize + i).Caption;
                // The batch's ids are this caption's (so what the encoder reads is what was rendered).
                var (ids, _) = CaptionVocabulary.Default.EncodeBatch(new[] { caption }, options.CaptionLength);
                Assert.True(ids[0].eq(batch.Ids[i]).all().item<bool>(), $"ids of clip {i} of step {step}");
                using var clip = ClipRenderer.ToFramesFirst(batch.Clips[i]);
                var judgement = ClipEvaluator.Evaluate(clip);
                n++;
                if (judgement.Colour == Word<ObjectColour>(caption)) colour++;
                if (judgement.Shape == Word<ObjectShape>(caption)) shape++;
                if (judgement.Direction == Word<MotionDirection>(caption)) direction++;
                var d = Word<MotionDirection>(caption);
                perDirection[d] = perDirection.GetValueOrDefault(d) + 1;
            }
        }
        output.WriteLine($"{n} clips: colour {colour}, shape {shape}, direction {direction}; directions {string.Join(", ", perDirection.Select(kv => $"{kv.Key} {kv.Value}"))}");
        Assert.Equal(n, direction);
        Assert.Equal(n, colour);
        Assert.True(shape >= 0.95 * n, $"shape {shape}/{n}");
        Assert.Equal(4, perDirection.Count);
    }

    [Fact]
    public void Default_options_have_no_direction_contrast_and_sample_sigma_with_the_scheduler_shift()
    {
        TinyTestModels.TemporaryFolder();
        var options = TinyTestModels.Options(10) with { BatchSize = 4 };
        Assert.Equal(0, options.DirectionContrastCount);
        Assert.Equal(options.SigmaShift, options.TrainingShift);
        using var batch = new TrainingBatchFactory(new ProceduralDataset(), options).Build(3);
        Assert.Null(batch.DirectionContrast);
    }

    [Fact]
    public void A_larger_training_shift_moves_sigmas_to_high_noise_without_changing_the_scheduler_shift()
    {
        TinyTestModels.TemporaryFolder();
        var plain = TinyTestModels.Options(10) with { BatchSize = 64 };
        var shifted = plain with { SampleShift = 8 };
        Assert.Equal(3.0, shifted.SigmaShift);
        using var a = new TrainingBatchFactory(new ProceduralDataset(), plain).Build(2);
        using var b = new TrainingBatchFactory(new ProceduralDataset(), shifted).Build(2);
        // Same uniform draws, shifted by 3 and by 8.
        var u = a.Sigma.data<float>().Select(s => s / (3 - 2 * s)).ToArray();
        var expected = u.Select(x => (float)FlowMatching.Shift(x, 8)).ToArray();
        var actual = b.Sigma.data<float>().ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.InRange(actual[i], expected[i] - 1e-5f, expected[i] + 1e-5f);
        Assert.True(actual.Average() > a.Sigma.data<float>().Average() + 0.05);
    }

    [Fact]
    public void Contrast_captions_reword_only_the_direction_and_their_clips_are_never_caption_dropped()
    {
        TinyTestModels.TemporaryFolder();
        var options = TinyTestModels.Options(10) with { BatchSize = 8, CaptionDropout = 1.0, DirectionContrastShare = 0.5 };
        var dataset = new ProceduralDataset();
        using var batch = new TrainingBatchFactory(dataset, options).Build(7);
        var contrast = batch.DirectionContrast!;
        Assert.Equal(4, contrast.Count);
        Assert.Equal(new long[] { 16, options.CaptionLength }, contrast.Ids.shape);
        var tokens = batch.Mask.sum(1).data<long>().ToArray();
        Assert.All(tokens.Take(4), t => Assert.True(t > 1));  // kept although dropout is 1
        Assert.All(tokens.Skip(4), t => Assert.Equal(1L, t)); // only EOS
        var directions = Enum.GetValues<MotionDirection>();
        for (int i = 0; i < 4; i++)
        {
            var spec = dataset.Training(7L * 8 + i).Spec;
            Assert.Equal(Array.IndexOf(directions, spec.Direction), contrast.Labels[i].item<long>());
            for (int d = 0; d < 4; d++)
            {
                string caption = ClipCaption.For(spec with { Direction = directions[d] });
                var (ids, _) = CaptionVocabulary.Default.EncodeBatch(new[] { caption }, options.CaptionLength);
                Assert.True(ids[0].eq(contrast.Ids[4 * i + d]).all().item<bool>(), caption);
            }
            Assert.True(contrast.Ids[4 * i + (int)contrast.Labels[i].item<long>()].eq(batch.Ids[i]).all().item<bool>());
        }
    }

    [Fact]
    public void Contrast_loss_keeps_the_flow_loss_and_scores_each_direction_by_its_mse()
    {
        TinyTestModels.TemporaryFolder();
        var options = TinyTestModels.Options(10) with { BatchSize = 3, DirectionContrastShare = 0.67, LongTextShare = 0 };
        using var batch = new TrainingBatchFactory(new ProceduralDataset(), options).Build(1);
        using var model = new TinyModel(TinyTestModels.Micro, torch.CPU, 3);
        using (torch.no_grad())
            foreach (var (_, p) in model.NamedParameters) p.normal_(0, 0.2); // a non-zero output layer
        using var scope = torch.NewDisposeScope();
        var noise = torch.randn(batch.Clips.shape, generator: new Generator(5));
        var (noisy, target) = FlowMatching.Interpolate(batch.Clips, noise, batch.Sigma);
        var text = model.EncodeText(batch.Ids, batch.Mask, batch.TextLength);
        var contrast = batch.DirectionContrast!;
        var (flow, crossEntropy) = DirectionContrastLoss.Compute(model, noisy, batch.Sigma, text, target, contrast, batch.TextLength, 0.01);

        var plain = nn.functional.mse_loss(model.Predict(noisy, batch.Sigma, text), target);
        Assert.InRange(Math.Abs(flow.item<float>() - plain.item<float>()) / plain.item<float>(), 0, 1e-5);

        double expected = 0;
        for (int i = 0; i < contrast.Count; i++)
        {
            var logits = new double[4];
            for (int d = 0; d < 4; d++)
            {
                var t = model.EncodeText(contrast.Ids.narrow(0, 4 * i + d, 1), contrast.Mask.narrow(0, 4 * i + d, 1), batch.TextLength);
                var p = model.Predict(noisy.narrow(0, i, 1), batch.Sigma.narrow(0, i, 1), t);
                logits[d] = -nn.functional.mse_loss(p, target.narrow(0, i, 1)).item<float>() / 0.01;
            }
            double max = logits.Max(), logSum = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
            expected += logSum - logits[contrast.Labels[i].item<long>()];
        }
        expected /= contrast.Count;
        output.WriteLine($"cross-entropy {crossEntropy.item<float>():F6}, by hand {expected:F6}");
        Assert.True(expected > 1e-3);
        Assert.InRange(Math.Abs(crossEntropy.item<float>() - expected) / expected, 0, 1e-4);
    }

    [Fact]
    public void Warm_start_from_a_pipeline_folder_loads_its_weights_into_model_and_ema()
    {
        string work = TinyTestModels.TemporaryFolder(), second = TinyTestModels.TemporaryFolder();
        try
        {
            var first = TinyTrainer.Run(new TinyTrainingRun(TinyTestModels.Micro, TinyTestModels.Options(2), work, Path.Combine(work, "model"), false, "cpu"), torch.CPU);
            var state = PipelineWarmStart.ReadState(first.OutputFolder);
            Assert.Equal(2, state.Step);
            Assert.Equal(TinyTestModels.Micro.HeadDim, state.Model.HeadDim);

            using var model = new TinyModel(state.Model, torch.CPU, 99);
            using var ema = new ExponentialMovingAverage(model.NamedParameters, 0.999);
            PipelineWarmStart.LoadWeights(first.OutputFolder, model, ema);
            using var saved = VDiTLens.IO.SafeTensorsFile.Open(Path.Combine(work, "checkpoint", "ema.safetensors"));
            foreach (var (name, p) in model.NamedParameters)
            {
                using var expected = saved.Load(name);
                Fixtures.AssertClose(p, expected, 0, name);
                Fixtures.AssertClose(ema.Weights[name], expected, 0, "ema " + name);
            }

            // And train-tiny accepts the folder as --init-from.
            var run = new TinyTrainingRun(new TinyModelConfig(), TinyTestModels.Options(1), second, Path.Combine(second, "model"), false, "cpu", first.OutputFolder);
            var result = TinyTrainer.Run(run, torch.CPU);
            Assert.Equal(1, result.StepsDone);
            Assert.True(result.TrainingSeconds >= state.TrainingSeconds);
        }
        finally
        {
            Directory.Delete(work, true);
            Directory.Delete(second, true);
        }
    }

    [Fact]
    public void A_run_with_direction_contrast_trains_and_reports_its_cross_entropy()
    {
        string work = TinyTestModels.TemporaryFolder();
        try
        {
            var reports = new List<TrainingProgress>();
            var options = TinyTestModels.Options(2) with { BatchSize = 4, DirectionContrastShare = 0.5, SampleShift = 6 };
            var result = TinyTrainer.Run(new TinyTrainingRun(TinyTestModels.Micro, options, work, Path.Combine(work, "model"), false, "cpu"),
                torch.CPU, new Collect(reports));
            Assert.Equal(2, result.StepsDone);
            Assert.True(double.IsFinite(result.FinalLoss));
            var logged = reports.Where(r => r.Note is null).ToList();
            Assert.NotEmpty(logged);
            Assert.All(logged, r => Assert.InRange(r.DirectionContrastLoss!.Value, 0.0, 10.0));
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }

    private sealed class Collect(List<TrainingProgress> reports) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p) => reports.Add(p);
    }
}
