using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// The hunyuan_video_pipeline fixture calls (diffusers' HunyuanVideoPipeline on a tiny random pipeline, float64
/// reference) reproduced in float32 on the CPU: embedded guidance only, and true classifier-free guidance on top.
/// </summary>
public sealed class HunyuanVideoPipelineParityTests(ITestOutputHelper output)
{
    private const string Fixture = "hunyuan_video_pipeline";
    private static readonly JsonObject Info = VDiTLens.IO.ModelFolder.ReadJsonObject(Fixtures.Path(Fixture, "reference.json"));
    private static readonly string[] Prompts = Info["calls"]!["embedded"]!["prompt"]!.AsArray().Select(p => p!.GetValue<string>()).ToArray();
    private static readonly string Negative = Info["calls"]!["true_cfg"]!["negative_prompt"]!.GetValue<string>();

    public static HunyuanVideoPipeline LoadFixture()
    {
        TorchRuntime.Initialise();
        return HunyuanVideoPipeline.Load(Fixtures.Path(Fixture, "pipeline"), new ComputeOptions(torch.CPU, ScalarType.Float32, 0));
    }

    private static GenerationRequest Request(string call, Tensor latentsInit)
    {
        var c = Info["calls"]![call]!;
        return new GenerationRequest
        {
            Prompts = Prompts,
            NegativePrompt = c["negative_prompt"]?.GetValue<string>() ?? "",
            TrueCfgScale = c["true_cfg_scale"]?.GetValue<double>() ?? 1.0,
            GuidanceScale = c["guidance_scale"]!.GetValue<double>(),
            Steps = c["num_inference_steps"]!.GetValue<int>(),
            Height = c["height"]!.GetValue<int>(),
            Width = c["width"]!.GetValue<int>(),
            Frames = c["num_frames"]!.GetValue<int>(),
            MaxSequenceLength = c["max_sequence_length"]!.GetValue<int>(),
            InitialLatents = latentsInit,
        };
    }

    // Measured (float32, CPU) against diffusers' float64 run: video 7.0e-7 (embedded) / 7.4e-7 (true CFG batched) / 7.3e-7
    // (true CFG, two calls) relative L2, where diffusers' own float32 run is at 6.7e-7 / 6.6e-7; noise predictions ≤ 7.6e-7,
    // latents ≤ 1.9e-7. Pinned at 2e-6.
    [Theory]
    [InlineData("embedded", true)]
    [InlineData("true_cfg", true)]
    [InlineData("true_cfg", false)]
    public void Generate_reproduces_the_diffusers_video(string call, bool batchGuidance)
    {
        var reference = Fixtures.Load($"{Fixture}/reference_{call}.safetensors");
        using var pipeline = LoadFixture();
        var steps = new List<(Tensor Latents, Tensor Cond, Tensor? Uncond)>();
        var timesteps = new List<double>();
        var request = Request(call, reference["latents_init"]) with
        {
            BatchGuidance = batchGuidance,
            OnStep = s =>
            {
                timesteps.Add(s.Timestep);
                steps.Add((s.Latents.clone(), s.ConditionalPrediction.clone(), s.UnconditionalPrediction?.clone()));
            },
        };
        using var video = pipeline.Generate(request);

        Assert.Equal(reference["timesteps"].data<float>().Select(t => (double)t), timesteps);
        bool trueCfg = request.TrueCfgScale > 1;
        for (int i = 0; i < request.Steps; i++)
        {
            // diffusers calls the transformer on cond, then (true CFG) on uncond: calls 2i and 2i + 1.
            Check(steps[i].Cond, reference[$"noise_pred.call{(trueCfg ? 2 * i : i)}"], 2e-6, $"noise_pred step {i} cond");
            if (trueCfg) Check(steps[i].Uncond!, reference[$"noise_pred.call{2 * i + 1}"], 2e-6, $"noise_pred step {i} uncond");
            Check(steps[i].Latents, reference[$"latents.step{i}"], 2e-6, $"latents.step{i}");
        }
        Assert.Equal(reference["video"].shape, video.shape);
        Check(video, reference["video"], 2e-6, "video");
        output.WriteLine($"(diffusers float32 vs float64 video: relative L2 {Info["relative_l2_fp32_vs_fp64"]![call]!["video"]!.GetValue<double>():E3})");
    }

    // Measured: prompt_embeds 1.7e-7, pooled 1.1e-7, negative 2.0e-7 / 7.6e-8 relative L2.
    [Fact]
    public void Prompt_embeddings_mask_and_pooled_output_match_encode_prompt()
    {
        var reference = Fixtures.Load($"{Fixture}/reference_true_cfg.safetensors");
        using var pipeline = LoadFixture();
        using var cond = pipeline.EncodePrompts(Prompts, 16);
        using var uncond = pipeline.EncodePrompts(new[] { Negative, Negative }, 16);
        Check(cond.Embeds, reference["prompt_embeds"], 2e-6, "prompt_embeds");
        Check(cond.Pooled!, reference["pooled_prompt_embeds"], 2e-6, "pooled_prompt_embeds");
        Check(uncond.Embeds, reference["negative_prompt_embeds"], 2e-6, "negative_prompt_embeds");
        Check(uncond.Pooled!, reference["negative_pooled_prompt_embeds"], 2e-6, "negative_pooled_prompt_embeds");
        Assert.True(cond.Mask!.eq(reference["prompt_attention_mask"].ne(0)).all().item<bool>());
        Assert.True(uncond.Mask!.eq(reference["negative_prompt_attention_mask"].ne(0)).all().item<bool>());
        Assert.Equal(new long[] { 2, 16 }, cond.Mask.shape);
    }

    [Fact]
    public void Token_ids_of_the_templated_prompts_and_of_clip_match_the_pipeline_exactly()
    {
        var reference = Fixtures.Load($"{Fixture}/reference_true_cfg.safetensors");
        using var pipeline = LoadFixture();
        int length = 16 + pipeline.PromptTemplate.CropStart;
        using var tokens = pipeline.LlamaTokenizer.Encode(Prompts.Select(pipeline.PromptTemplate.Format).ToArray(), length);
        using var negative = pipeline.LlamaTokenizer.Encode(new[] { Negative, Negative }.Select(pipeline.PromptTemplate.Format).ToArray(), length);
        using var clip = pipeline.ClipTokenizer.Encode(Prompts, 77);
        Assert.True(tokens.InputIds.eq(reference["input_ids"]).all().item<bool>());
        Assert.True(tokens.AttentionMask.eq(reference["attention_mask"]).all().item<bool>());
        Assert.True(negative.InputIds.eq(reference["negative_input_ids"]).all().item<bool>());
        Assert.True(negative.AttentionMask.eq(reference["negative_attention_mask"]).all().item<bool>());
        Assert.True(clip.InputIds.eq(reference["clip_input_ids"]).all().item<bool>());
    }

    [Fact]
    public void Generate_command_loader_dispatches_on_the_class_name()
    {
        using var pipeline = TextToVideoPipelines.Load(Fixtures.Path(Fixture, "pipeline"), new ComputeOptions(torch.CPU, ScalarType.Float32, 0));
        Assert.IsType<HunyuanVideoPipeline>(pipeline);
        Assert.Equal("HunyuanVideoPipeline", pipeline.ClassName);
        Assert.Equal(GenerationDefaults.HunyuanVideo, pipeline.Defaults);
        Assert.Contains("HunyuanVideoPipeline", TextToVideoPipelines.SupportedClasses);
    }

    private void Check(Tensor actual, Tensor expected, double tolerance, string what) =>
        Fixtures.AssertClose(actual, expected, tolerance, what, output, withMaxAbs: true);
}
