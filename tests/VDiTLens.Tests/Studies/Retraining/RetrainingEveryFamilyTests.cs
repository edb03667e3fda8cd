using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Schedulers;
using VDiTLens.Studies.Retraining;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Studies.Retraining;

/// <summary>
/// Retraining on the CogVideoX, Mochi-1 and HunyuanVideo fixture pipelines (diffusers-made, tiny random weights) and
/// the random Wan pixel-space pipeline: block-output matching lowers its loss, and the data target's first loss equals
/// an independent float64 computation of the family's own objective on one batch.
/// </summary>
public sealed class RetrainingEveryFamilyTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "vditlens-retrain-families-" + Guid.NewGuid().ToString("N"));
    private PixelSpacePipeline? _wan;

    /// <summary>A folder and generation sizes that fit it.</summary>
    private (string Folder, RetrainOptions Options) Family(string family)
    {
        var o = new RetrainOptions
        {
            Blocks = new[] { 1 }, TrainingSteps = 1, LearningRate = 1e-2, CheckpointEvery = 100, Seed = 3,
            Prompts = new[] { "a red ball rolls" }, PoolSeeds = 1, GenerationSteps = 2, GuidanceScale = 1, Height = 16, Width = 16, MaxSequenceLength = 8,
        };
        return family switch
        {
            "wan" => ((_wan = new PixelSpacePipeline()).Path, o with { Frames = 3, Height = 8, Width = 8, MaxSequenceLength = 6 }),
            "cogvideox" => (Fixtures.Path("cogvideox_pipeline", "pipeline"), o with { Frames = 9, MaxSequenceLength = 16 }),
            "mochi" => (Fixtures.Path("mochi_pipeline", "pipeline"), o with { Frames = 7 }),
            "hunyuan" => (Fixtures.Path("hunyuan_video_pipeline", "pipeline"), o with { Frames = 5, GuidanceScale = 6 }),
            _ => throw new ArgumentException(family),
        };
    }

    [Theory]
    [InlineData("cogvideox", RetrainScope.Block)]
    [InlineData("mochi", RetrainScope.Attention)]
    [InlineData("hunyuan", RetrainScope.Block)]
    public void Block_output_matching_lowers_the_loss(string family, RetrainScope scope)
    {
        TorchRuntime.Initialise();
        var (folder, options) = Family(family);
        using var teacher = TextToVideoPipelines.Load(folder, ComputeOptions.Cpu32);
        // HunyuanVideo: block 1 is the single-stream block after the one dual-stream block
        using var retrainer = new BlockRetrainer(teacher, options with { TrainingSteps = 15, Scope = scope }, _work);
        string prefix = BlockRetrainer.RetrainedPrefix(teacher.Transformer, 1, scope);
        Assert.All(retrainer.Optimizer.Parameters, p => Assert.StartsWith(prefix, p.Name));
        Assert.NotEmpty(retrainer.Optimizer.Parameters);
        retrainer.Train();
        double first = retrainer.Losses.Take(3).Average(), last = retrainer.Losses.TakeLast(3).Average();
        output.WriteLine($"{family} {prefix}: loss {first:G4} → {last:G4}");
        Assert.True(last < 0.5 * first, $"loss {first:G4} → {last:G4}");
    }

    [Theory]
    [InlineData("wan")]
    [InlineData("cogvideox")]
    [InlineData("mochi")]
    [InlineData("hunyuan")]
    public void Data_target_loss_is_the_family_objective_on_the_teachers_sample(string family)
    {
        TorchRuntime.Initialise();
        var (folder, options) = Family(family);
        using var teacher = TextToVideoPipelines.Load(folder, ComputeOptions.Cpu32);
        using var retrainer = new BlockRetrainer(teacher, options with { Target = DistillationTarget.Data }, _work);
        var pool = retrainer.Pool;
        long entry = retrainer.EntryOf(0);
        double t = pool.Timesteps[entry].item<float>();
        using var x0 = pool.Samples[pool.SampleIndex[entry].item<long>()].unsqueeze(0).to(ScalarType.Float64);
        using var noise = retrainer.NoiseOf(0).to(ScalarType.Float64);
        // the objectives written out from diffusers' schedulers, in float64
        var (a, b, targetNoise, targetClean) = family switch
        {
            "cogvideox" => VPrediction(((CogVideoXPipeline)teacher).Scheduler, t),
            "mochi" => (t / 1000, 1 - t / 1000, -1.0, 1.0),  // invert_sigmas: σ = 1 − t/1000, target x₀ − ε
            _ => (1 - t / 1000, t / 1000, 1.0, -1.0),         // σ = t/1000, target ε − x₀
        };
        using var noisy = a * x0 + b * noise;
        using var target = targetNoise * noise + targetClean * x0;
        using var text = pool.Text(pool.TextIndex[entry].item<long>(), torch.CPU, ScalarType.Float32);
        double expected;
        using (torch.no_grad())
        using (var timestep = pool.Timesteps[entry].view(1))
        using (var prediction = retrainer.Student.Forward(teacher.TransformerInputs(noisy.to(ScalarType.Float32), timestep, text, options.GuidanceScale)))
            expected = (prediction.to(ScalarType.Float64) - target).square().mean().item<double>();
        double loss = retrainer.TrainStep();
        output.WriteLine($"{family}: t {t}, loss {loss:G8}, independent {expected:G8}");
        Assert.True(expected > 0);
        Assert.Equal(expected, loss, expected * 1e-4);
    }

    /// <summary>CogVideoX (v-prediction): x_t = √ᾱ·x₀ + √(1 − ᾱ)·ε, v = √ᾱ·ε − √(1 − ᾱ)·x₀.</summary>
    private static (double, double, double, double) VPrediction(IScheduler scheduler, double t)
    {
        var alphas = scheduler switch { CogVideoXDDIMScheduler d => d.AlphasCumprod, CogVideoXDPMScheduler p => p.AlphasCumprod, _ => throw new ArgumentException(scheduler.ClassName) };
        double alpha = alphas[(long)Math.Round(t)].to(ScalarType.Float64).item<double>();
        return (Math.Sqrt(alpha), Math.Sqrt(1 - alpha), Math.Sqrt(alpha), -Math.Sqrt(1 - alpha));
    }

    public void Dispose()
    {
        _wan?.Dispose();
        try { Directory.Delete(_work, true); }
        catch (IOException) { }
    }
}
