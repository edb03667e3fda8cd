using TorchSharp;
using VDiTLens.Models.CogVideoX;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Schedulers;
using VDiTLens.Tests.Schedulers;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// CogVideoXPipeline with random weights against the pipeline's steps written out naively in the test (diffusers'
/// order: uncond rows first, guidance and DDIM step from their formulas in float64, permute and 1/scaling_factor by hand).
/// </summary>
public sealed class CogVideoXPipelineTests(ITestOutputHelper output)
{
    private static readonly string[] Prompts = { "a red fox runs through snow", "waves" };
    private const string Negative = "blurry";

    private static CogVideoXPipeline Random(TinyCogVideoXFolder folder, ScalarType dtype = ScalarType.Float32)
    {
        TorchRuntime.Initialise();
        return CogVideoXPipeline.CreateRandom(folder.Path, new ComputeOptions(CPU, dtype, 11));
    }

    private static GenerationRequest Request => new()
    {
        Prompts = Prompts, NegativePrompt = Negative, GuidanceScale = 6.0, Steps = 3,
        Height = 32, Width = 48, Frames = 9, MaxSequenceLength = 10, Seed = 5,
    };

    // Measured (float32, CPU): per-step latents ≤ 2e-7, video ≤ 1e-7 relative L2 against the float64-step reference.
    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public void Generate_matches_the_pipeline_written_out_by_hand(bool dynamicCfg, bool batchGuidance)
    {
        using var folder = new TinyCogVideoXFolder();
        using var pipeline = Random(folder);
        var request = Request with { UseDynamicCfg = dynamicCfg, BatchGuidance = batchGuidance };
        var steps = new List<Tensor>();
        using var video = pipeline.Generate(request with { OnStep = s => steps.Add(s.Latents.clone()) });

        var (expectedSteps, expectedVideo) = Naive(pipeline, request);
        Assert.Equal(3, steps.Count);
        for (int i = 0; i < 3; i++) Check(steps[i], expectedSteps[i], 1e-5, $"latents.step{i}");
        Assert.Equal(new long[] { 2, 9, 32, 48, 3 }, video.shape);
        Check(video, expectedVideo, 1e-5, "video");
    }

    private static (List<Tensor> Steps, Tensor Video) Naive(CogVideoXPipeline pipeline, GenerationRequest request)
    {
        using var _ = torch.no_grad();
        var config = pipeline.Transformer.Config;
        int n = request.Steps;
        var timesteps = CogVideoXDdimFormulas.TrailingTimesteps(1000, n);
        var alphas = CogVideoXDdimFormulas.AlphasCumprod(((CogVideoXDDIMScheduler)pipeline.Scheduler).Config);
        var cond = pipeline.EncodePrompts(Prompts, 10);
        var uncond = pipeline.EncodePrompts(new[] { Negative, Negative }, 10);
        var text = torch.cat(new[] { uncond, cond }, 0);
        using var generator = new Generator(5);
        var latents = torch.randn(new long[] { 2, 3, 4, 4, 6 }, ScalarType.Float32, generator: generator);
        var rotary = CogVideoXRotaryEmbedding.ForPipeline(config, 32, 48, 3);
        var steps = new List<Tensor>();
        foreach (long t in timesteps)
        {
            var prediction = pipeline.Transformer.Forward(torch.cat(new[] { latents, latents }, 0), text, torch.full(4, t, ScalarType.Int64), rotary).to(ScalarType.Float64);
            var u = prediction.narrow(0, 0, 2);
            var c = prediction.narrow(0, 2, 2);
            double scale = request.UseDynamicCfg
                ? 1 + 6.0 * (1 - Math.Cos(Math.PI * Math.Pow((n - (double)t) / n, 5))) / 2
                : 6.0;
            var guided = u + scale * (c - u);
            latents = CogVideoXDdimFormulas.Step(alphas, t, t - 1000 / n, guided, latents.to(ScalarType.Float64)).to(ScalarType.Float32);
            steps.Add(latents);
        }
        var z = latents.permute(0, 2, 1, 3, 4) / 1.15258426;
        var pixels = pipeline.Vae.Decode(z);
        return (steps, (pixels / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 4, 1));
    }

    [Fact]
    public void Dynamic_guidance_scale_is_diffusers_formula_of_the_raw_timestep()
    {
        using var folder = new TinyCogVideoXFolder();
        using var pipeline = Random(folder);
        var scales = new List<(double Timestep, double Scale)>();
        pipeline.Denoise(Request with
        {
            UseDynamicCfg = true,
            Steps = 4,
            OnStep = s =>
            {
                // guided = uncond + scale · (cond − uncond): recover the scale from the step's own tensors
                var diff = (s.ConditionalPrediction - s.UnconditionalPrediction!).to(ScalarType.Float64);
                var scaled = (s.NoisePrediction - s.UnconditionalPrediction!).to(ScalarType.Float64);
                scales.Add((s.Timestep, ((scaled * diff).sum() / (diff * diff).sum()).item<double>()));
            },
        }).Dispose();
        Assert.Equal(new[] { 999.0, 749, 499, 249 }, scales.Select(s => s.Timestep));
        foreach (var (t, scale) in scales)
        {
            double expected = 1 + 6.0 * (1 - Math.Cos(Math.PI * Math.Pow((4 - t) / 4, 5))) / 2;
            Assert.Equal(expected, scale, 4);
        }
        Assert.Equal(CogVideoXPipeline.DynamicGuidanceScale(6.0, 999, 4), 1 + 6.0 * (1 - Math.Cos(Math.PI * Math.Pow(-995.0 / 4, 5))) / 2, 12);
    }

    [Fact]
    public void Prompts_are_encoded_without_an_attention_mask_and_not_cleaned()
    {
        using var folder = new TinyCogVideoXFolder();
        using var pipeline = Random(folder);
        using var _ = torch.no_grad();
        string prompt = "two  cats &amp; a dog";
        using var tokens = pipeline.Tokenizer.Encode(new[] { prompt }, 16);
        var ids = tokens.InputIds;
        Assert.True(tokens.AttentionMask.sum().item<long>() < 16, "the prompt should leave padding");
        var unmasked = pipeline.TextEncoder.Encode(ids, torch.ones_like(ids));
        var masked = pipeline.TextEncoder.Encode(ids, tokens.AttentionMask);
        var ours = pipeline.EncodePrompts(new[] { prompt }, 16);
        Assert.Equal(new long[] { 1, 16, 12 }, ours.shape);
        Assert.True(ours.equal(unmasked).all().item<bool>());
        // The padding takes part in attention, so even the real tokens differ from a masked encoding.
        Assert.True(Fixtures.RelativeL2(ours.narrow(1, 0, 2), masked.narrow(1, 0, 2)) > 1e-3);
    }

    [Fact]
    public void Defaults_are_diffusers_call_defaults()
    {
        using var folder = new TinyCogVideoXFolder();
        using var pipeline = Random(folder);
        var d = pipeline.Defaults;
        // transformer sample 8 × 12 latent, 9 frames; VAE spatial 8
        Assert.Equal(new GenerationDefaults(6.0, 50, 64, 96, 9, 226), d);
        Assert.Equal("CogVideoXPipeline", pipeline.ClassName);
        Assert.Equal(new long[] { 2, 3, 4, 4, 6 }, pipeline.LatentShape(Request));
    }

    [Fact]
    public void Seed_decides_the_noise_and_dpm_draws_from_the_same_generator()
    {
        using var folder = new TinyCogVideoXFolder(scheduler: "cogvideox_dpm");
        using var pipeline = Random(folder);
        Assert.IsType<CogVideoXDPMScheduler>(pipeline.Scheduler);
        var request = Request with { GuidanceScale = 1.0, Steps = 2 };
        using var a = pipeline.Denoise(request);
        using var b = pipeline.Denoise(request);
        using var c = pipeline.Denoise(request with { Seed = 6 });
        Assert.True(a.equal(b).all().item<bool>());
        Assert.False(a.equal(c).all().item<bool>());
        // The reference: the initial latents, then the scheduler's draws, from one generator (diffusers' generator=).
        using var _ = torch.no_grad();
        using var generator = new Generator(5);
        var latents = torch.randn(pipeline.LatentShape(request), ScalarType.Float32, generator: generator);
        var dpm = new CogVideoXDPMScheduler(((CogVideoXDPMScheduler)pipeline.Scheduler).Config) { NoiseSource = new TorchNoiseSource(generator) };
        dpm.SetTimesteps(2);
        var cond = pipeline.EncodePrompts(Prompts, 10);
        var rotary = CogVideoXRotaryEmbedding.ForPipeline(pipeline.Transformer.Config, 32, 48, 3);
        for (int i = 0; i < 2; i++)
        {
            long t = dpm.Timesteps[i].item<long>();
            var prediction = pipeline.Transformer.Forward(latents, cond, torch.full(2, t, ScalarType.Int64), rotary).to(ScalarType.Float32);
            latents = dpm.Step(prediction, i, latents);
        }
        Check(a, latents, 1e-6, "dpm latents");
    }

    [Fact]
    public void Sin_cos_transformer_needs_its_text_length()
    {
        using var folder = new TinyCogVideoXFolder(transformer: "cogvideox_2b");
        using var pipeline = Random(folder);
        var e = Assert.Throws<VDiTLensException>(() => pipeline.Denoise(Request with { Steps = 1 }));
        Assert.Contains("max_text_seq_length", e.Message);
        using var latents = pipeline.Denoise(Request with { Steps = 1, MaxSequenceLength = 6 });
        Assert.Equal(new long[] { 2, 3, 4, 4, 6 }, latents.shape);
    }

    [Fact]
    public void Wan_and_Mochi_pipelines_refuse_dynamic_guidance()
    {
        TorchRuntime.Initialise();
        var request = new GenerationRequest { Prompts = new[] { "x" }, UseDynamicCfg = true };
        using var wan = WanPipeline.Load(Fixtures.Path("wan_pipeline", "pipeline"), ComputeOptions.Cpu32);
        Assert.Contains("CogVideoXPipeline option; WanPipeline", Assert.Throws<VDiTLensException>(() => wan.Denoise(request)).Message);
        using var folder = new TinyMochiPipelineFolder();
        using var mochi = MochiPipeline.CreateRandom(folder.Path, ComputeOptions.Cpu32);
        Assert.Contains("CogVideoXPipeline option; MochiPipeline", Assert.Throws<VDiTLensException>(() => mochi.Denoise(request with { Steps = 2 })).Message);
    }

    private void Check(Tensor actual, Tensor expected, double tolerance, string what) =>
        Fixtures.AssertClose(actual, expected, tolerance, what, output);
}
