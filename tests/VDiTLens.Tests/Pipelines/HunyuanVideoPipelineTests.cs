using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// HunyuanVideoPipeline on a tiny random pipeline (float64, CPU) against its steps written out here from diffusers'
/// pipeline_hunyuan_video.py: prompt template and crop, hidden_states[-3], CLIP pooling, sigmas, shift, Euler step,
/// embedded guidance ×1000, true CFG; and the folder checks.
/// </summary>
public sealed class HunyuanVideoPipelineTests
{
    private static readonly string[] Prompts = { "a cat", "two dogs run" };

    private static HunyuanVideoPipeline Random(TinyHunyuanVideoPipelineFolder folder)
    {
        TorchRuntime.Initialise();
        var pipeline = HunyuanVideoPipeline.CreateRandom(folder.Path, new ComputeOptions(torch.CPU, ScalarType.Float64, 3));
        pipeline.PromptTemplate = TinyHunyuanVideoPipelineFolder.Template;
        return pipeline;
    }

    [Fact]
    public void Prompt_encoding_is_the_llama_state_two_layers_before_the_last_cropped_and_clips_pooled_output()
    {
        using var folder = new TinyHunyuanVideoPipelineFolder();
        using var pipeline = Random(folder);
        const int length = 12, crop = 6;
        using var text = pipeline.EncodePrompts(Prompts, length);

        // Byte-level tokens with no merges: BOS, <|start_header_id|>, 's','y','s', <|end_header_id|>, prompt bytes, <|eot_id|>, <pad>…
        var rows = Prompts.Select(p => new long[] { 256, 258, 's', 'y', 's', 259 }.Concat(p.Select(c => (long)c)).Append(260L).Take(length + crop).ToArray()).ToArray(); // "two dogs run" is cut: its <|eot_id|> falls off
        var ids = torch.full(2, length + crop, 261L, ScalarType.Int64);
        var mask = torch.zeros(2, length + crop, ScalarType.Int64);
        for (int b = 0; b < 2; b++)
        {
            ids[b].narrow(0, 0, rows[b].Length).copy_(torch.tensor(rows[b]));
            mask[b].narrow(0, 0, rows[b].Length).fill_(1);
        }
        Tensor? layer0 = null;
        pipeline.TextEncoder.LayerOutputs = (key, t) => { if (key == "layers.0") layer0 = t; else t.Dispose(); };
        pipeline.TextEncoder.Forward(ids, mask).Dispose(); // 3 layers: hidden_states[-3] is the output of layer 0
        pipeline.TextEncoder.LayerOutputs = null;
        Assert.Equal(0.0, (text.Embeds - layer0!.narrow(1, crop, length)).abs().max().item<double>());
        Assert.True(text.Mask!.eq(mask.narrow(1, crop, length).ne(0)).all().item<bool>());

        var clipIds = torch.full(2, 77, 513L, ScalarType.Int64); // <|endoftext|> pads
        for (int b = 0; b < 2; b++)
        {
            // CLIP drops the spaces and ends each word with </w> (id + 256); the last symbol of a word is its </w> form.
            var words = Prompts[b].Split(' ');
            var expected = new List<long> { 512 };
            foreach (var w in words) expected.AddRange(w.Select((c, i) => (long)c + (i == w.Length - 1 ? 256 : 0)));
            expected.Add(513);
            clipIds[b].narrow(0, 0, expected.Count).copy_(torch.tensor(expected.ToArray()));
        }
        using var clip = pipeline.TextEncoder2.Forward(clipIds);
        Assert.Equal(0.0, (text.Pooled! - clip.PoolerOutput).abs().max().item<double>());
    }

    [Theory]
    [InlineData(1.0, true)]
    [InlineData(2.5, true)]
    [InlineData(2.5, false)]
    public void Denoise_matches_the_loop_written_from_diffusers_formulas(double trueCfg, bool batchGuidance)
    {
        using var folder = new TinyHunyuanVideoPipelineFolder();
        using var pipeline = Random(folder);
        var init = torch.randn(new long[] { 2, 4, 2, 2, 2 }, ScalarType.Float32, generator: new Generator(5));
        var request = new GenerationRequest
        {
            Prompts = Prompts, NegativePrompt = "blur", TrueCfgScale = trueCfg, GuidanceScale = 6.0, Steps = 3,
            Height = 16, Width = 16, Frames = 5, MaxSequenceLength = 8, InitialLatents = init, BatchGuidance = batchGuidance,
        };
        using var actual = pipeline.Denoise(request);

        using var cond = pipeline.EncodePrompts(Prompts, 8);
        using var uncond = pipeline.EncodePrompts(new[] { "blur", "blur" }, 8);
        const double shift = 7.0;
        var sigmas = Enumerable.Range(0, 3).Select(i => 1.0 - i / 3.0)
            .Select(s => (double)(float)(shift * (float)s / (1 + (shift - 1) * (float)s))).Append(0.0).ToArray();
        var guidance = torch.full(2, 6000.0, ScalarType.Float64);
        var x = init.to(ScalarType.Float64);
        for (int i = 0; i < 3; i++)
        {
            var t = torch.full(2, (double)(float)(sigmas[i] * 1000), ScalarType.Float64);
            var c = pipeline.Transformer.Forward(x, t, cond.Embeds, cond.Mask!, cond.Pooled!, guidance);
            var v = c;
            if (trueCfg > 1)
            {
                var u = pipeline.Transformer.Forward(x, t, uncond.Embeds, uncond.Mask!, uncond.Pooled!, guidance);
                v = u + trueCfg * (c - u);
            }
            x = x + (sigmas[i + 1] - sigmas[i]) * v;
        }
        double error = (actual - x).norm().item<double>() / x.norm().item<double>();
        Assert.True(error < 1e-6, $"relative error {error:E2}");
    }

    [Fact]
    public void Guidance_changes_the_prediction_through_the_guidance_embedding()
    {
        using var folder = new TinyHunyuanVideoPipelineFolder();
        using var pipeline = Random(folder);
        var init = torch.randn(new long[] { 2, 4, 2, 2, 2 }, ScalarType.Float32, generator: new Generator(5));
        var request = new GenerationRequest { Prompts = Prompts, Steps = 1, Height = 16, Width = 16, Frames = 5, MaxSequenceLength = 8, InitialLatents = init };
        using var six = pipeline.Denoise(request with { GuidanceScale = 6.0 });
        using var one = pipeline.Denoise(request with { GuidanceScale = 1.0 });
        Assert.True((six - one).abs().max().item<double>() > 1e-6);
    }

    [Fact]
    public void Folder_with_mismatched_text_width_is_refused_naming_both_fields()
    {
        using var folder = new TinyHunyuanVideoPipelineFolder();
        folder.Edit("transformer/config.json", c => c["text_embed_dim"] = 24);
        var e = Assert.Throws<VDiTLensException>(() => HunyuanVideoPipelineFolder.Open(folder.Path));
        Assert.Contains("text_encoder/config.json hidden_size = 16 but transformer/config.json text_embed_dim = 24", e.Message);
    }

    [Fact]
    public void Folder_with_another_scheduler_or_a_missing_component_is_refused()
    {
        using var folder = new TinyHunyuanVideoPipelineFolder();
        folder.Edit("scheduler/scheduler_config.json", c => c["_class_name"] = "UniPCMultistepScheduler");
        var e = Assert.Throws<VDiTLensException>(() => HunyuanVideoPipelineFolder.Open(folder.Path));
        Assert.Contains("'UniPCMultistepScheduler' is not a scheduler a HunyuanVideoPipeline can use", e.Message);
        folder.Edit("model_index.json", c => c.Remove("tokenizer_2"));
        e = Assert.Throws<VDiTLensException>(() => HunyuanVideoPipelineFolder.Open(folder.Path));
        Assert.Contains("component 'tokenizer_2' is missing", e.Message);
    }

    [Fact]
    public void Sizes_not_divisible_by_16_are_refused()
    {
        using var folder = new TinyHunyuanVideoPipelineFolder();
        using var pipeline = Random(folder);
        var e = Assert.Throws<VDiTLensException>(() => pipeline.InitialLatents(new GenerationRequest { Prompts = Prompts, Height = 24, Width = 16, Frames = 5 }));
        Assert.Contains("24 × 16", e.Message);
    }
}
