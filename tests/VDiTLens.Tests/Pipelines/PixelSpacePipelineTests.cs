using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>A pipeline with no VAE: the transformer's latents are the RGB video in [-1, 1].</summary>
public sealed class PixelSpacePipelineTests
{
    private static GenerationRequest Request => new()
    {
        Prompts = new[] { "a red circle moving left", "A blue square, moving right!" },
        NegativePrompt = "", GuidanceScale = 3.0, Steps = 3, Height = 8, Width = 12, Frames = 5, MaxSequenceLength = 8, Seed = 11,
    };

    [Fact]
    public void Loads_word_level_tokenizer_and_generates_rgb_video()
    {
        TorchRuntime.Initialise();
        using var folder = new PixelSpacePipeline();
        using var pipeline = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        Assert.Null(pipeline.Vae);
        Assert.IsType<WordLevelTokenizer>(pipeline.Tokenizer);

        using var latents = pipeline.Denoise(Request);
        Assert.Equal(new long[] { 2, 3, 5, 8, 12 }, latents.shape);
        using var video = pipeline.DecodeLatents(latents);
        Assert.Equal(new long[] { 2, 5, 8, 12, 3 }, video.shape);
        using var expected = (latents.clamp(-1.0, 1.0) / 2 + 0.5).permute(0, 2, 3, 4, 1);
        Assert.True(video.allclose(expected, rtol: 0, atol: 0));
        Assert.True(video.min().item<float>() >= 0f && video.max().item<float>() <= 1f);
    }

    [Fact]
    public void Seeded_noise_is_deterministic_and_drawn_from_a_cpu_generator()
    {
        TorchRuntime.Initialise();
        using var folder = new PixelSpacePipeline();
        using var pipeline = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        using var a = pipeline.Generate(Request);
        using var b = pipeline.Generate(Request);
        using var c = pipeline.Generate(Request with { Seed = 12 });
        Assert.True(a.eq(b).all().item<bool>());
        Assert.False(a.eq(c).all().item<bool>());

        using var generator = new Generator(11);
        using var noise = torch.randn(new long[] { 2, 3, 5, 8, 12 }, ScalarType.Float32, torch.CPU, generator: generator);
        using var initial = pipeline.InitialLatents(Request);
        Assert.True(initial.eq(noise).all().item<bool>());
    }

    [Theory]
    [InlineData(true, "cfg", "cond,cond,uncond,uncond")]
    [InlineData(false, "cond", "cond,cond")]
    public void Run_state_names_step_branch_and_batch_rows(bool batchGuidance, string firstBranch, string firstRows)
    {
        TorchRuntime.Initialise();
        using var folder = new PixelSpacePipeline();
        using var pipeline = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        var recorder = new StateRecorder();
        using (pipeline.Seam.Attach(recorder))
            pipeline.Generate(Request with { BatchGuidance = batchGuidance }).Dispose();
        var first = recorder.Calls[0];
        Assert.Equal((0, firstBranch, firstRows), (first.Step, first.Branch, first.Rows));
        Assert.Equal(2, recorder.Calls.Max(c => c.Step));
        Assert.Equal(recorder.Calls[0].Batch, recorder.Calls[0].Rows.Split(',').Length);
        if (!batchGuidance) Assert.Contains(recorder.Calls, c => c.Branch == "uncond" && c.Rows == "uncond,uncond");
        Assert.Equal(-1, pipeline.Seam.State.Step); // reset after the loop
        Assert.Null(pipeline.Seam.State.Batch);
    }

    [Fact]
    public void Guidance_one_runs_the_conditional_branch_only()
    {
        TorchRuntime.Initialise();
        using var folder = new PixelSpacePipeline();
        using var pipeline = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        var recorder = new StateRecorder();
        var uncond = new List<bool>();
        using (pipeline.Seam.Attach(recorder))
            pipeline.Generate(Request with { GuidanceScale = 1.0, OnStep = s => uncond.Add(s.UnconditionalPrediction is null) }).Dispose();
        Assert.All(recorder.Calls, c => Assert.Equal("cond", c.Branch));
        Assert.Equal(new[] { true, true, true }, uncond);
    }

    private sealed class StateRecorder : IAttentionProbe
    {
        public List<(int Step, string Branch, string Rows, long Batch)> Calls { get; } = new();
        public bool Accepts(AttentionCall call) => true;
        public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output) =>
            Calls.Add((call.State.Step, call.State.Branch, string.Join(",", call.State.Batch!.RowBranches), q.shape[0]));
    }
}
