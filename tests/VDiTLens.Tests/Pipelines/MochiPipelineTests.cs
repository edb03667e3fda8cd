using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>MochiPipeline on a tiny random pipeline (no diffusers reference needed): loop, schedule, decode, prompts, errors.</summary>
public sealed class MochiPipelineTests(ITestOutputHelper output)
{
    private static readonly string[] Prompts = { "A cat walks on the grass.", "Two astronauts float inside a space station." };

    private static MochiPipeline Random(TinyMochiPipelineFolder folder, long seed = 7)
    {
        TorchRuntime.Initialise();
        return MochiPipeline.CreateRandom(folder.Path, new ComputeOptions(torch.CPU, ScalarType.Float32, seed));
    }

    private static GenerationRequest Request(int steps = 3) => new()
    {
        Prompts = Prompts,
        NegativePrompt = "worst quality",
        GuidanceScale = 4.5,
        Steps = steps,
        Height = 32,
        Width = 48,
        Frames = 19,
        MaxSequenceLength = 8,
        Seed = 11,
    };

    [Fact]
    public void Generate_gives_a_finite_video_in_the_unit_range()
    {
        using var folder = new TinyMochiPipelineFolder();
        using var pipeline = Random(folder);
        var progress = new List<GenerationProgress>();
        int callbacks = 0;
        using var video = pipeline.Generate(Request() with
        {
            OnStep = _ => callbacks++,
            Progress = new SyncProgress(progress.Add),
        });
        Assert.Equal(new long[] { 2, 19, 32, 48, 3 }, video.shape);
        Assert.True(video.isfinite().all().item<bool>());
        Assert.True(video.min().item<float>() >= 0f && video.max().item<float>() <= 1f);
        Assert.Equal(3, callbacks);
        Assert.Equal(new[] { 0, 1, 2, 3 }, progress.Select(p => p.Completed));
    }

    [Fact]
    public void Frame_counts_round_down_to_one_plus_six_k_as_diffusers()
    {
        using var folder = new TinyMochiPipelineFolder();
        using var pipeline = Random(folder);
        Assert.Equal(new long[] { 1, 4, 4, 4, 6 }, pipeline.Geometry.LatentShape(1, 20, 32, 48));
        Assert.Equal(new long[] { 1, 4, 4, 4, 6 }, pipeline.Geometry.LatentShape(1, 24, 32, 48));
        Assert.Equal(new long[] { 1, 4, 5, 4, 6 }, pipeline.Geometry.LatentShape(1, 25, 32, 48));
        Assert.Contains("multiples of 16 × 16", Assert.Throws<VDiTLensException>(() => pipeline.Geometry.LatentShape(1, 19, 24, 48)).Message);
    }

    // The transformer's timesteps: diffusers' scheduler fixture (FlowMatchEulerDiscreteScheduler, invert_sigmas, linear-quadratic sigmas).
    [Theory]
    [InlineData(4)]
    [InlineData(10)]
    public void The_transformer_sees_the_diffusers_mochi_timesteps(int steps)
    {
        var expected = Fixtures.Load("schedulers/flowmatch_euler_mochi/steps.safetensors")[$"n{steps}.timesteps"].data<float>().ToArray();
        using var folder = new TinyMochiPipelineFolder();
        using var pipeline = Random(folder);
        var seen = new List<double>();
        pipeline.Denoise(Request(steps) with { OnStep = s => seen.Add(s.Timestep) }).Dispose();
        Assert.Equal(expected.Select(t => (double)t), seen);
        Assert.Equal(0.0, seen[0]); // Mochi's model time runs 1 − σ: pure noise is timestep 0
    }

    // A float64 loop written from diffusers' formulas: linear_quadratic_schedule, invert_sigmas, Euler x += (σ' − σ)·v with
    // v = v_u + s·(v_c − v_u); only the transformer and the encoded prompts are shared with the pipeline.
    // Measured (CPU): 4.8e-7 (batched) / 4.5e-7 (two calls) relative L2; the pipeline keeps float32 latents.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Denoise_equals_a_float64_loop_from_diffusers_formulas(bool batchGuidance)
    {
        const int steps = 4;
        using var folder = new TinyMochiPipelineFolder();
        using var pipeline = Random(folder);
        var request = Request(steps) with { BatchGuidance = batchGuidance };
        using var latents = pipeline.Denoise(request);

        using var _ = torch.no_grad();
        using var cond = pipeline.EncodePrompts(Prompts, 8);
        using var uncond = pipeline.EncodePrompts(new[] { "worst quality", "worst quality" }, 8);
        var sigmas = LinearQuadraticSchedule(steps, 0.025).Select(s => 1.0 - (float)s).Append(1.0).ToArray();
        var x = pipeline.InitialLatents(request).to(ScalarType.Float64);
        for (int i = 0; i < steps; i++)
        {
            var t = torch.full(2, (float)(sigmas[i] * 1000), ScalarType.Float32);
            var vc = pipeline.Transformer.Forward(x.to(ScalarType.Float32), cond.Embeds, t, cond.Mask!).to(ScalarType.Float64);
            var vu = pipeline.Transformer.Forward(x.to(ScalarType.Float32), uncond.Embeds, t, uncond.Mask!).to(ScalarType.Float64);
            x = x + (sigmas[i + 1] - sigmas[i]) * (vu + 4.5 * (vc - vu));
        }
        double error = Fixtures.RelativeL2(latents, x);
        output.WriteLine($"batched {batchGuidance}: relative L2 {error:E3}");
        Assert.True(error <= 1e-5, $"relative L2 {error:E3}");
    }

    [Fact]
    public void Decode_denormalises_with_the_vae_statistics_then_maps_to_unit_range()
    {
        using var folder = new TinyMochiPipelineFolder();
        using var pipeline = Random(folder);
        using var _ = torch.no_grad();
        var latents = torch.randn(new long[] { 1, 4, 2, 2, 3 }, generator: new Generator(5));
        using var video = pipeline.DecodeLatents(latents);

        var mean = torch.tensor(TinyMochiPipelineFolder.LatentsMean).view(1, 4, 1, 1, 1);
        var std = torch.tensor(TinyMochiPipelineFolder.LatentsStd).view(1, 4, 1, 1, 1);
        var z = (latents.to(ScalarType.Float64) * std + mean).to(ScalarType.Float32);
        var pixels = pipeline.Vae.decoder.Forward(z, null).to(ScalarType.Float64);
        pixels = pixels.narrow(2, 5, pixels.shape[2] - 5); // drop_last_temporal_frames: the first 6 − 1 frames
        var expected = (pixels * 0.5 + 0.5).clamp(0, 1).permute(0, 2, 3, 4, 1);
        Assert.Equal(new long[] { 1, 7, 16, 24, 3 }, video.shape);
        double error = Fixtures.RelativeL2(video, expected);
        output.WriteLine($"decode: relative L2 {error:E3}");
        Assert.True(error <= 1e-6, $"relative L2 {error:E3}");
    }

    [Fact]
    public void Prompt_embeddings_keep_the_padding_rows_and_come_with_the_mask()
    {
        using var folder = new TinyMochiPipelineFolder();
        using var pipeline = Random(folder);
        using var tokens = pipeline.Tokenizer.Encode(new[] { "a cat" }, 8);
        using var conditioning = pipeline.EncodePrompts(new[] { "a cat" }, 8);
        long real = tokens.AttentionMask.sum().item<long>();
        Assert.InRange(real, 2, 7);
        Assert.True(conditioning.Mask!.eq(tokens.AttentionMask.ne(0)).all().item<bool>());
        using var _ = torch.no_grad();
        using var direct = pipeline.TextEncoder.Encode(tokens.InputIds, tokens.AttentionMask);
        Assert.True(Identical(conditioning.Embeds, direct));
        // unlike Wan, the rows past the prompt are the encoder's, not zeros: the transformer masks them instead
        Assert.True(conditioning.Embeds[0].narrow(0, real, 8 - real).abs().max().item<float>() > 0f);
    }

    [Fact]
    public void Force_zeros_for_empty_prompt_zeroes_ids_and_mask_of_the_batch()
    {
        using var folder = new TinyMochiPipelineFolder(forceZerosForEmptyPrompt: true);
        using var pipeline = Random(folder);
        using var conditioning = pipeline.EncodePrompts(new[] { "a cat", "" }, 8);
        Assert.False(conditioning.Mask!.any().item<bool>());
        using var _ = torch.no_grad();
        using var zeros = torch.zeros(2, 8, ScalarType.Int64);
        using var direct = pipeline.TextEncoder.Encode(zeros, zeros);
        Assert.True(Identical(conditioning.Embeds, direct));
        using var kept = pipeline.EncodePrompts(new[] { "", "a cat" }, 8);
        Assert.True(kept.Mask!.any().item<bool>());
    }

    [Fact]
    public void Given_embeddings_need_their_mask_and_reproduce_the_encoded_run()
    {
        using var folder = new TinyMochiPipelineFolder();
        using var pipeline = Random(folder);
        using var cond = pipeline.EncodePrompts(Prompts, 8);
        using var uncond = pipeline.EncodePrompts(new[] { "worst quality", "worst quality" }, 8);
        var given = Request(2) with { Prompts = Array.Empty<string>(), PromptEmbeds = cond.Embeds, NegativePromptEmbeds = uncond.Embeds };
        var message = Assert.Throws<VDiTLensException>(() => pipeline.Denoise(given).Dispose()).Message;
        Assert.Contains("PromptEmbeds is given without PromptAttentionMask", message);
        using var fromEmbeds = pipeline.Denoise(given with { PromptAttentionMask = cond.Mask, NegativePromptAttentionMask = uncond.Mask });
        using var fromPrompts = pipeline.Denoise(Request(2));
        Assert.True(Identical(fromEmbeds, fromPrompts));
    }

    [Fact]
    public void One_step_is_refused_with_the_reason()
    {
        using var folder = new TinyMochiPipelineFolder();
        using var pipeline = Random(folder);
        var message = Assert.Throws<VDiTLensException>(() => pipeline.Generate(Request(1)).Dispose()).Message;
        Assert.Contains("at least 2 steps", message);
    }

    [Fact]
    public void Load_reads_saved_weights_and_the_loader_picks_MochiPipeline_by_class_name()
    {
        using var folder = new TinyMochiPipelineFolder();
        using var random = Random(folder);
        folder.SaveWeights(random);
        using var loaded = TextToVideoPipelines.Load(folder.Path, new ComputeOptions(torch.CPU, ScalarType.Float32, 0));
        var mochi = Assert.IsType<MochiPipeline>(loaded);
        Assert.Equal(GenerationDefaults.Mochi, loaded.Defaults);
        using var a = random.Denoise(Request(2));
        using var b = mochi.Denoise(Request(2));
        Assert.True(Identical(a, b));
    }

    [Fact]
    public void The_loader_picks_WanPipeline_and_names_an_unknown_class_with_the_supported_ones()
    {
        TorchRuntime.Initialise();
        var options = new ComputeOptions(torch.CPU, ScalarType.Float32, 0);
        using (var wan = TextToVideoPipelines.Load(Fixtures.Path("wan_pipeline", "pipeline"), options))
            Assert.IsType<WanPipeline>(wan);
        using var folder = new TinyMochiPipelineFolder();
        folder.Edit("model_index.json", j => j["_class_name"] = "LattePipeline");
        var message = Assert.Throws<VDiTLensException>(() => TextToVideoPipelines.Load(folder.Path, options)).Message;
        Assert.Contains("_class_name 'LattePipeline' is not a pipeline vditlens can run (supported: WanPipeline, WanImageToVideoPipeline, CogVideoXPipeline, MochiPipeline, HunyuanVideoPipeline)", message);
    }

    [Fact]
    public void Mismatched_components_are_named_before_weights_are_read()
    {
        using var folder = new TinyMochiPipelineFolder();
        folder.Edit("text_encoder/config.json", j => j["d_model"] = 32);
        var message = Assert.Throws<VDiTLensException>(() => MochiPipelineFolder.Open(folder.Path)).Message;
        Assert.Contains("d_model = 32 but transformer/config.json text_embed_dim = 16", message);
        folder.Edit("text_encoder/config.json", j => j["d_model"] = 16);
        folder.Edit("scheduler/scheduler_config.json", j => j["_class_name"] = "UniPCMultistepScheduler");
        Assert.Contains("supported: FlowMatchEulerDiscreteScheduler", Assert.Throws<VDiTLensException>(() => MochiPipelineFolder.Open(folder.Path)).Message);
    }

    /// <summary>diffusers' pipeline_mochi.linear_quadratic_schedule, transcribed (float64).</summary>
    private static double[] LinearQuadraticSchedule(int numSteps, double thresholdNoise)
    {
        int linearSteps = numSteps / 2;
        var linear = Enumerable.Range(0, linearSteps).Select(i => i * thresholdNoise / linearSteps);
        double diff = linearSteps - thresholdNoise * numSteps;
        int quadraticSteps = numSteps - linearSteps;
        double quadraticCoef = diff / (linearSteps * Math.Pow(quadraticSteps, 2));
        double linearCoef = thresholdNoise / linearSteps - 2 * diff / Math.Pow(quadraticSteps, 2);
        double constant = quadraticCoef * Math.Pow(linearSteps, 2);
        var quadratic = Enumerable.Range(linearSteps, numSteps - linearSteps).Select(i => quadraticCoef * i * i + linearCoef * i + constant);
        return linear.Concat(quadratic).Select(x => 1.0 - x).ToArray();
    }

    private static bool Identical(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private sealed class SyncProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
