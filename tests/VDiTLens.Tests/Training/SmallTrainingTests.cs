using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Procedural;
using VDiTLens.Procedural.Scenes;
using VDiTLens.Training;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Training;

public sealed class SmallTrainingTests
{
    private static TinyModelConfig Micro(string arm) => TinyTestModels.Micro with { Layers = 2, VocabSize = CaptionVocabulary.Default.Size, Arm = arm };

    private static TinyTrainingOptions Options(int steps) => TinyTrainingOptions.Small with
    {
        Steps = steps, BatchSize = 2, WarmupSteps = 1, CheckpointEvery = 2, LogEvery = 1, Seed = 3,
        Scenes = new SceneDatasetOptions(Frames: 3, Height: 16, Width: 16), EmergenceClips = 2, EmergenceSamplingSteps = 2,
    };

    [Fact]
    public void The_small_preset_has_about_30_million_parameters_and_2448_tokens()
    {
        TinyTestModels.TemporaryFolder();
        using var model = new TinyModel(TinyModelConfig.Small, torch.CPU, 0);
        long parameters = model.ParameterCount;
        Assert.InRange(parameters, 29_000_000, 31_000_000); // 12 blocks of (2 × 4 × 384² + 2 × 384 × 1536) + time and text embeddings
        var scenes = TinyTrainingOptions.Small.Scenes!;
        Assert.Equal(2448, scenes.Frames * (scenes.Height / 4) * (scenes.Width / 4));
        Assert.Equal(CaptionVocabulary.Default.Size, (int)model.TextEncoder.shared.weight!.shape[0]);
    }

    [Fact]
    public void The_frame0_arm_maps_each_patch_of_frame_0_by_its_own_matrix()
    {
        TinyTestModels.TemporaryFolder();
        using var arm = new TinyModel(Micro(TrainingArm.Frame0), torch.CPU, 1);
        using var plain = new TinyModel(Micro(TrainingArm.Plain), torch.CPU, 1);
        var random = new Random(5);
        var weight = Enumerable.Range(0, 48 * 48).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var bias = Enumerable.Range(0, 48).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        using (torch.no_grad())
        {
            arm.Frame0Map!.weight!.copy_(torch.tensor(weight, new long[] { 48, 48 }));
            arm.Frame0Map.bias!.copy_(torch.tensor(bias));
            foreach (var (p, q) in arm.Transformer.parameters().Zip(plain.Transformer.parameters())) p.copy_(q.normal_());
        }
        using var clip = torch.randn(new long[] { 1, 3, 2, 8, 8 });
        var x = clip.data<float>().ToArray();
        // Reference: patch vector of frame 0 in (channel, row, column) order, mapped by W·v + b, written back; by hand.
        var mapped = (float[])x.Clone();
        for (int py = 0; py < 2; py++)
        for (int px = 0; px < 2; px++)
        for (int o = 0; o < 48; o++)
        {
            double sum = bias[o];
            for (int i = 0; i < 48; i++)
            {
                int c = i / 16, r = i / 4 % 4, s = i % 4;
                sum += weight[o * 48 + i] * x[((c * 2 + 0) * 8 + py * 4 + r) * 8 + px * 4 + s];
            }
            int oc = o / 16, or = o / 4 % 4, os = o % 4;
            mapped[((oc * 2 + 0) * 8 + py * 4 + or) * 8 + px * 4 + os] = (float)sum;
        }
        using var sigma = torch.tensor(new[] { 0.5f });
        using var ids = torch.zeros(1, 4, ScalarType.Int64);
        using var mask = torch.ones(1, 4, ScalarType.Int64);
        using var text = plain.EncodeText(ids, mask, 8);
        using var expected = plain.Predict(torch.tensor(mapped, clip.shape), sigma, text);
        using var actual = arm.Predict(clip, sigma, text);
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void The_bos_arm_predicts_the_clip_frames_after_a_constant_zero_frame()
    {
        TinyTestModels.TemporaryFolder();
        using var model = new TinyModel(Micro(TrainingArm.Bos), torch.CPU, 2);
        using (torch.no_grad()) model.Transformer.proj_out.weight!.normal_();
        using var clip = torch.randn(new long[] { 1, 3, 2, 8, 8 });
        using var sigma = torch.tensor(new[] { 0.3f });
        using var text = model.EncodeText(torch.zeros(1, 4, ScalarType.Int64), torch.ones(1, 4, ScalarType.Int64), 8);
        using var withBos = torch.cat(new[] { torch.zeros(new long[] { 1, 3, 1, 8, 8 }), clip }, 2);
        using var full = model.Transformer.Forward(withBos, torch.tensor(new[] { 300f }), text);
        using var actual = model.Predict(clip, sigma, text);
        Assert.Equal(new long[] { 1, 3, 2, 8, 8 }, actual.shape);
        Assert.True(actual.allclose(full.narrow(2, 1, 2), rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void A_small_run_records_the_emergence_curve_at_step_0_and_every_checkpoint_and_resumes()
    {
        string work = TinyTestModels.TemporaryFolder();
        try
        {
            var first = new TinyTrainingRun(Micro(TrainingArm.Bos), Options(3), work, Path.Combine(work, "model"), false, "cpu");
            Assert.Equal(3, TinyTrainer.Run(first, torch.CPU).StepsDone);
            var resumed = first with { Options = Options(4), Resume = true };
            Assert.Equal(4, TinyTrainer.Run(resumed, torch.CPU).StepsDone);

            var points = EmergenceRecorder.Read(Path.Combine(work, EmergenceRecorder.FileName));
            Assert.Equal(new[] { 0, 2, 3, 4 }, points.Select(p => p.Step).Distinct().OrderBy(s => s));
            foreach (int step in new[] { 0, 2, 3, 4 })
            {
                var at = points.Where(p => p.Step == step).ToList();
                foreach (int layer in new[] { 0, 1 })
                {
                    foreach (var metric in new[] { "first_frame_share", "peak_ratio", "sink_mass", "epsilon_share", "coverage90" })
                        Assert.Single(at, p => p.Layer == layer && p.Kind == "self" && p.Metric == metric);
                    // 3 clip frames after the constant frame: the first of 4 frames holds a quarter of the keys.
                    Assert.Equal(0.25, at.Single(p => p.Layer == layer && p.Metric == "first_frame_uniform").Value, 12);
                    double share = at.Single(p => p.Layer == layer && p.Metric == "first_frame_share").Value;
                    Assert.InRange(share, 0, 1);
                    Assert.InRange(share, at.Single(p => p.Layer == layer && p.Metric == "first_frame_share_low").Value,
                        at.Single(p => p.Layer == layer && p.Metric == "first_frame_share_high").Value);
                    Assert.InRange(at.Single(p => p.Layer == layer && p.Metric == "pad_share").Value, 0, 1);
                }
                Assert.InRange(at.Single(p => p.Metric == "objects_correct").Value, 0, 1);
            }
            Assert.True(File.Exists(Path.Combine(work, EmergencePlot.FileName)));
            Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(work, EmergencePlot.FileName)));
            var vocabulary = File.ReadAllText(Path.Combine(work, "model", "tokenizer", "vocab.json"));
            Assert.Contains("\"dotted\"", vocabulary);
        }
        finally { Directory.Delete(work, true); }
    }

    [Fact]
    public void First_frame_share_and_pad_share_match_a_dense_float64_computation()
    {
        string work = TinyTestModels.TemporaryFolder();
        try
        {
            var options = Options(1);
            using var model = new TinyModel(Micro(TrainingArm.Bos), torch.CPU, 4);
            using (torch.no_grad()) foreach (var p in model.Transformer.parameters()) p.mul_(3); // sharper attention than at init
            double? selfShare = null, padShare = null;
            var lengths = Enumerable.Range(0, 2).Select(i => (long)CaptionVocabulary.Default.Encode(new SceneDataset(options.Scenes).Evaluation(i).Caption, 48).Mask.Sum()).ToArray();
            using var observe = model.Transformer.Seam.Observe(new AttentionSelector { Layers = new[] { 0 } }, (call, q, k, v, output) =>
            {
                using var scope = torch.NewDisposeScope();
                var p = (q.to(ScalarType.Float64).matmul(k.to(ScalarType.Float64).transpose(-1, -2)) * call.Scale).softmax(-1).mean(new long[] { 2 }); // [B, H, Lk]
                if (call.Site.Kind == AttentionKind.Self)
                    selfShare ??= p.narrow(2, 0, 16).sum(2).mean().item<double>(); // 4 × 4 tokens per frame at 16 × 16, patch 4
                else
                    padShare ??= Enumerable.Range(0, 2).Average(b => p[b].narrow(1, lengths[b], 48 - lengths[b]).sum(1).mean().item<double>());
            });
            var recorded = new EmergenceRecorder(work, options).Record(0, model);
            Assert.NotNull(selfShare);
            Assert.Equal(selfShare!.Value, recorded.Single(p => p.Layer == 0 && p.Metric == "first_frame_share").Value, 5);
            Assert.Equal(padShare!.Value, recorded.Single(p => p.Layer == 0 && p.Metric == "pad_share").Value, 5);
        }
        finally { Directory.Delete(work, true); }
    }

    [Fact]
    public void A_bf16_sharded_pipeline_loads_with_the_ema_weights_rounded_to_bf16()
    {
        string work = TinyTestModels.TemporaryFolder();
        try
        {
            var run = new TinyTrainingRun(Micro(TrainingArm.Plain), Options(1) with { EmergenceClips = 0 }, work, Path.Combine(work, "model"), false, "cpu")
            {
                Ship = new ShardedWeights(ScalarType.BFloat16, 16 * 1024),
            };
            TinyTrainer.Run(run, torch.CPU);
            string transformer = Path.Combine(work, "model", "transformer");
            Assert.True(Directory.GetFiles(transformer, "diffusion_pytorch_model-*-of-*.safetensors").Length > 1);
            Assert.False(File.Exists(Path.Combine(transformer, "diffusion_pytorch_model.safetensors")));
            using var pipe = VDiTLens.Pipelines.WanPipeline.Load(Path.Combine(work, "model"), VDiTLens.Runtime.ComputeOptions.Parse("cpu", "float32", seed: 0));
            using var ema = VDiTLens.IO.SafeTensorsFile.Open(Path.Combine(work, "checkpoint", "ema.safetensors"));
            foreach (var (name, p) in pipe.Transformer.named_parameters())
            {
                using var expected = ema.Load(TinyModel.TransformerPrefix + name);
                using var rounded = expected.to(ScalarType.BFloat16).to(ScalarType.Float32);
                Assert.True(p.to(ScalarType.Float32).allclose(rounded, rtol: 0, atol: 0), name);
            }
        }
        finally { Directory.Delete(work, true); }
    }
}
