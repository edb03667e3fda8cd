using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>The mochi_pipeline fixture call (diffusers MochiPipeline, float64 reference) reproduced in float32 on the CPU.</summary>
public sealed class MochiPipelineParityTests(ITestOutputHelper output)
{
    public static readonly string[] Prompts =
    {
        "A cat walks on the grass.",
        "Two astronauts float inside a space station & look out of the window.",
    };
    public const string NegativePrompt = "worst quality, blurred";

    public static GenerationRequest FixtureRequest(Tensor latentsInit) => new()
    {
        Prompts = Prompts,
        NegativePrompt = NegativePrompt,
        GuidanceScale = 4.5,
        Steps = 4,
        Height = 32,
        Width = 32,
        Frames = 13,
        MaxSequenceLength = 16,
        InitialLatents = latentsInit,
    };

    public static MochiPipeline LoadFixture()
    {
        TorchRuntime.Initialise();
        return MochiPipeline.Load(Fixtures.Path("mochi_pipeline", "pipeline"), new ComputeOptions(torch.CPU, ScalarType.Float32, 0));
    }

    // Measured (float32, CPU) against the float64 run, batched / two calls: video 2.6e-7 / 2.7e-7 relative L2 (diffusers'
    // own float32 run: 2.7e-7), per-step noise predictions ≤ 1.9e-7, latents ≤ 1.3e-7; prompt embeddings 2.0e-7.
    // reference.json's float32-vs-float64 gaps are ≤ 1.3e-6 max abs on every key; pinned at 2e-6 relative.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Generate_reproduces_the_diffusers_video(bool batchGuidance)
    {
        var reference = Fixtures.Load("mochi_pipeline/reference.safetensors");
        using var pipeline = LoadFixture();
        var steps = new List<Dictionary<string, Tensor>>();
        var timesteps = new List<double>();
        var request = FixtureRequest(reference["latents_init"]) with
        {
            BatchGuidance = batchGuidance,
            OnStep = s =>
            {
                timesteps.Add(s.Timestep);
                steps.Add(new()
                {
                    ["latents"] = s.Latents.clone(),
                    ["cond"] = s.ConditionalPrediction.clone(),
                    ["uncond"] = s.UnconditionalPrediction!.clone(),
                });
            },
        };
        using var video = pipeline.Generate(request);

        Assert.Equal(reference["timesteps"].data<float>().Select(t => (double)t), timesteps);
        for (int i = 0; i < 4; i++)
        {
            var call = reference[$"noise_pred.call{i}"]; // batch [uncond; cond]
            Check(steps[i]["uncond"], call.narrow(0, 0, 2), 2e-6, $"noise_pred.call{i} uncond");
            Check(steps[i]["cond"], call.narrow(0, 2, 2), 2e-6, $"noise_pred.call{i} cond");
            Check(steps[i]["latents"], reference[$"latents.step{i}"], 2e-6, $"latents.step{i}");
        }
        Assert.Equal(new long[] { 2, 13, 32, 32, 3 }, video.shape);
        Check(video, reference["video"], 2e-6, "video");
        output.WriteLine($"(diffusers float32 vs float64 video: relative L2 {Fixtures.RelativeL2(Fixtures.Load("mochi_pipeline/reference_fp32cpu.safetensors")["video"], reference["video"]):E3})");
    }

    [Fact]
    public void Prompt_embeddings_and_masks_match_the_pipeline_inputs()
    {
        var reference = Fixtures.Load("mochi_pipeline/reference.safetensors");
        using var pipeline = LoadFixture();
        using var cond = pipeline.EncodePrompts(Prompts, 16);
        using var uncond = pipeline.EncodePrompts(new[] { NegativePrompt, NegativePrompt }, 16);
        var both = reference["prompt_embeds"]; // after the guidance concatenation: [negative; positive]
        Check(cond.Embeds, both.narrow(0, 2, 2), 2e-6, "prompt_embeds (positive rows)");
        Check(uncond.Embeds, both.narrow(0, 0, 2), 2e-6, "prompt_embeds (negative rows)");
        Check(uncond.Embeds, reference["negative_prompt_embeds"], 2e-6, "negative_prompt_embeds");
        Assert.True(cond.Mask!.eq(reference["attention_mask"].ne(0)).all().item<bool>());
        Assert.True(uncond.Mask!.eq(reference["negative_attention_mask"].ne(0)).all().item<bool>());
    }

    [Fact]
    public void Tokenizer_ids_match_the_pipeline_exactly()
    {
        var reference = Fixtures.Load("mochi_pipeline/reference.safetensors");
        using var pipeline = LoadFixture();
        using var tokens = pipeline.Tokenizer.Encode(Prompts, 16);
        using var negative = pipeline.Tokenizer.Encode(new[] { NegativePrompt, NegativePrompt }, 16);
        Assert.True(tokens.InputIds.eq(reference["input_ids"]).all().item<bool>());
        Assert.True(tokens.AttentionMask.eq(reference["attention_mask"]).all().item<bool>());
        Assert.True(negative.InputIds.eq(reference["negative_input_ids"]).all().item<bool>());
        Assert.True(negative.AttentionMask.eq(reference["negative_attention_mask"]).all().item<bool>());
    }

    [Fact]
    public void Nan_weight_is_located_at_the_first_attention_site_it_reaches()
    {
        var reference = Fixtures.Load("mochi_pipeline/reference.safetensors");
        using var pipeline = LoadFixture();
        using (torch.no_grad())
            pipeline.Transformer.named_parameters().Single(p => p.name == "transformer_blocks.1.attn1.to_q.weight").parameter.fill_(double.NaN);
        var e = Assert.Throws<VDiTLensException>(() => pipeline.Generate(FixtureRequest(reference["latents_init"])).Dispose());
        Assert.Contains("step 0 (timestep 0, branch cfg)", e.Message);
        Assert.Contains("first non-finite attention output at transformer_blocks.1.attn1 (batch rows 0 (cond), 1 (cond), 2 (uncond), 3 (uncond))", e.Message);
        Assert.Equal(-1, pipeline.Seam.State.Step);
        Assert.Empty(pipeline.Seam.Probes);
    }

    private void Check(Tensor actual, Tensor expected, double tolerance, string what) =>
        Fixtures.AssertClose(actual, expected, tolerance, what, output, withMaxAbs: true);
}
