using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Studies.Retraining;
using VDiTLens.Tests.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Studies.Retraining;

public sealed class BlockRetrainerTests : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "vditlens-retrain-" + Guid.NewGuid().ToString("N"));

    private static RetrainOptions Options(int steps, DistillationTarget target = DistillationTarget.BlockOutputs, RetrainScope scope = RetrainScope.Block) => new()
    {
        Blocks = new[] { 1 }, Scope = scope, Target = target, TrainingSteps = steps, LearningRate = 3e-3, CheckpointEvery = 3, Seed = 5,
        Prompts = new[] { "a red circle moving left" }, PoolSeeds = 1, GenerationSteps = 2, GuidanceScale = 1, Frames = 3, Height = 8, Width = 8,
        MaxSequenceLength = 6,
    };

    [Theory]
    [InlineData(DistillationTarget.BlockOutputs, RetrainScope.Block)]
    [InlineData(DistillationTarget.FinalOutput, RetrainScope.Attention)]
    public void Retraining_one_block_reduces_the_distillation_loss(DistillationTarget target, RetrainScope scope)
    {
        TorchRuntime.Initialise();
        using var folder = new PixelSpacePipeline();
        using var teacher = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        using var retrainer = new BlockRetrainer(teacher, Options(20, target, scope) with { LearningRate = 1e-2 }, _work);
        Assert.Equal(2, retrainer.Pool.Count); // two steps of one generation, no guidance
        Assert.All(retrainer.Optimizer.Parameters, p => Assert.StartsWith(scope == RetrainScope.Block ? "blocks.1." : "blocks.1.attn1.", p.Name));
        retrainer.Train();
        double first = retrainer.Losses.Take(5).Average(), last = retrainer.Losses.TakeLast(5).Average();
        Assert.True(last < 0.5 * first, $"loss {first:G4} → {last:G4}");
        Console.WriteLine($"{target}/{scope}: loss {first:G4} → {last:G4}");
    }

    [Fact]
    public void Resume_continues_exactly()
    {
        TorchRuntime.Initialise();
        using var folder = new PixelSpacePipeline();
        using var teacher = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        string straight = Path.Combine(_work, "straight"), resumed = Path.Combine(_work, "resumed");
        using var a = new BlockRetrainer(teacher, Options(6), straight);
        a.Train();
        using (var b1 = new BlockRetrainer(teacher, Options(6), resumed))
            b1.Train(stopAfter: 3);
        using var b2 = new BlockRetrainer(teacher, Options(6), resumed);
        Assert.Equal(3, b2.Step);
        b2.Train();
        Assert.Equal(a.Losses, b2.Losses);
        foreach (var ((name, p), (_, q)) in a.Optimizer.Parameters.Zip(b2.Optimizer.Parameters))
            Assert.True(p.eq(q).all().item<bool>(), $"{name} differs after resume");
    }

    [Fact]
    public void Saved_pipeline_holds_the_student_and_loads()
    {
        TorchRuntime.Initialise();
        using var folder = new PixelSpacePipeline();
        using var teacher = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        using var retrainer = new BlockRetrainer(teacher, Options(2), _work);
        retrainer.Train();
        string saved = Path.Combine(_work, "pipeline");
        retrainer.SavePipeline(saved);
        using var loaded = WanPipeline.Load(saved, ComputeOptions.Cpu32);
        var student = ((TorchSharp.torch.nn.Module)retrainer.Student).state_dict();
        var original = teacher.Transformer.state_dict();
        foreach (var (name, t) in loaded.Transformer.state_dict())
        {
            Assert.True(t.eq(student[name]).all().item<bool>(), name);
            Assert.Equal(!name.StartsWith("blocks.1.", StringComparison.Ordinal), t.eq(original[name]).all().item<bool>());
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_work, true); }
        catch (IOException) { }
    }
}
