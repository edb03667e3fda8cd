using VDiTLens.Benchmarks;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>Pipelines built from a preset's configs with random weights (no weight file).</summary>
public sealed class PipelinePresetTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vditlens-preset-test-" + Guid.NewGuid().ToString("N"));

    private string Write(string preset) => PipelinePresets.ByName(preset).WriteFolder(Path.Combine(_dir, preset), Fixtures.Root);

    /// <summary>Every component built on the meta device (shapes only, no memory), counted.</summary>
    private IReadOnlyDictionary<string, long> CountParameters(string preset)
    {
        TorchRuntime.Initialise();
        using var pipeline = TextToVideoPipelines.CreateRandom(Write(preset), new ComputeOptions(new Device(DeviceType.META), ScalarType.BFloat16, 0));
        return PipelineParameters.Count(pipeline);
    }

    [Fact]
    public void Wan_preset_is_wan_1_3b_with_umt5_xxl_and_the_wan_2_1_vae()
    {
        var folder = WanPipelineFolder.Open(Write("wan-1.3b"));
        var t5 = folder.TextEncoderConfig;
        Assert.Equal((4096, 24, 64, 64, 10240, 256384, "gated-gelu", true),
            (t5.d_model, t5.num_layers, t5.num_heads, t5.d_kv, t5.d_ff, t5.vocab_size, t5.feed_forward_proj, t5.BiasInEveryLayer));
        var vae = folder.VaeConfig!;
        Assert.Equal((96, 16, 2, 4, 8), (vae.base_dim, vae.z_dim, vae.num_res_blocks, vae.TemporalScale, vae.SpatialScale));
        Assert.Equal(new[] { 1, 2, 4, 4 }, vae.dim_mult);
        Assert.Equal(new[] { false, true, true }, vae.temperal_downsample);
        var wan = folder.TransformerConfig;
        Assert.Equal((30, 12, 128, 8960, 4096), (wan.num_layers, wan.num_attention_heads, wan.attention_head_dim, wan.ffn_dim, wan.text_dim));
        Assert.Empty(Directory.GetFiles(_dir, "*.safetensors", SearchOption.AllDirectories));
    }

    [Fact]
    public void Full_size_presets_have_the_published_parameter_counts()
    {
        // T5 v1.1 XXL encoder, by hand: 32128·4096 embedding + 24 · (4·4096² attention + 3·4096·10240 gated FFN + 2·4096
        // norms) + 32·64 relative bias + 4096 final norm.
        const long t5Xxl = 32128L * 4096 + 24 * (4L * 4096 * 4096 + 3L * 4096 * 10240 + 2 * 4096) + 32 * 64 + 4096;
        Assert.Equal(4_762_310_656L, t5Xxl);
        // The exact figures below are diffusers'/transformers' classes built from the same folders on the GPU
        // (scripts/reference/bench_pipeline.py, docs/benchmarks.md); the rounded ones are the model cards'.
        var cog = CountParameters("cogvideox-5b");
        Assert.Equal(t5Xxl, cog["text_encoder"]);
        Assert.Equal(5.57, Math.Round(cog["transformer"] / 1e9, 2)); // CogVideoX-5B: 5.57 B (model card)
        Assert.Equal(5_570_283_072L, cog["transformer"]);
        Assert.Equal(215_583_907L, cog["vae"]);
        var mochi = CountParameters("mochi-1");
        Assert.Equal(t5Xxl, mochi["text_encoder"]);
        Assert.Equal(10.0, Math.Round(mochi["transformer"] / 1e9, 1)); // Mochi-1: 10 B (model card)
        Assert.Equal(10_027_677_744L, mochi["transformer"]);
        Assert.Equal(459_748_611L, mochi["vae"]);
        var hunyuan = CountParameters("hunyuanvideo");
        Assert.Equal(13.0, Math.Round(hunyuan["transformer"] / 1e9, 0)); // HunyuanVideo: 13 B (model card)
        Assert.Equal(12_821_012_544L, hunyuan["transformer"]);
        Assert.Equal(246_478_803L, hunyuan["vae"]);
        // Llama-3-8B without its LM head, 128,320 ids, by hand: embedding + 32 · (2·4096² q/o + 2·4096·1024 k/v
        // + 3·4096·14336 MLP + 2·4096 norms) + 4096 final norm.
        Assert.Equal(128320L * 4096 + 32 * (2L * 4096 * 4096 + 2L * 4096 * 1024 + 3L * 4096 * 14336 + 2 * 4096) + 4096, hunyuan["text_encoder"]);
        Assert.Equal(7_505_186_816L, hunyuan["text_encoder"]);
        // CLIP ViT-L/14 text model, by hand: token + position embeddings, 12 · (4 biased 768² projections + biased MLP
        // 768↔3072 + 2 layer norms), final layer norm.
        Assert.Equal(49408L * 768 + 77 * 768 + 12 * (4L * (768 * 768 + 768) + (768L * 3072 + 3072) + (3072L * 768 + 768) + 4 * 768) + 2 * 768,
            hunyuan["text_encoder_2"]);
        Assert.Equal(123_060_480L, hunyuan["text_encoder_2"]);
    }

    [Fact]
    public void Full_size_presets_open_as_their_family_with_the_checkpoint_configs()
    {
        var cog = CogVideoXPipelineFolder.Open(Write("cogvideox-5b"));
        var c = cog.TransformerConfig;
        Assert.Equal((42, 48, 64, 16, 226, true), (c.num_layers, c.num_attention_heads, c.attention_head_dim, c.in_channels, c.max_text_seq_length, c.use_rotary_positional_embeddings));
        Assert.Equal(0.7, cog.VaeConfig.scaling_factor);
        var mochi = MochiPipelineFolder.Open(Write("mochi-1"));
        Assert.Equal((48, 24, 128, 1536), (mochi.TransformerConfig.num_layers, mochi.TransformerConfig.num_attention_heads, mochi.TransformerConfig.attention_head_dim, mochi.TransformerConfig.pooled_projection_dim));
        var hunyuan = HunyuanVideoPipelineFolder.Open(Write("hunyuanvideo"));
        var h = hunyuan.TransformerConfig;
        Assert.Equal((20, 40, 2, 24, true), (h.num_layers, h.num_single_layers, h.num_refiner_layers, h.num_attention_heads, h.guidance_embeds));
        Assert.Equal((32, 4096, 14336, 8, 128320), (hunyuan.TextEncoderConfig.num_hidden_layers, hunyuan.TextEncoderConfig.hidden_size,
            hunyuan.TextEncoderConfig.intermediate_size, hunyuan.TextEncoderConfig.num_key_value_heads, hunyuan.TextEncoderConfig.vocab_size));
        Assert.Equal((12, 768), (hunyuan.TextEncoder2Config.num_hidden_layers, hunyuan.TextEncoder2Config.hidden_size));
        Assert.Empty(Directory.GetFiles(_dir, "*.safetensors", SearchOption.AllDirectories));
    }

    [Fact]
    public void Tiny_wan_preset_builds_random_weights_and_generates_a_finite_video()
    {
        TorchRuntime.Initialise();
        var preset = PipelinePresets.ByName("wan-tiny");
        using var pipeline = WanPipeline.CreateRandom(Write(preset.Name), new ComputeOptions(CPU, ScalarType.Float32, 3));
        // umT5 encoder, counted by hand: embedding + per layer (q, k, v, o; own relative bias; 2 norms; wi_0, wi_1, wo) + final norm
        long d = 32, inner = 32, ff = 64, layers = 2;
        long expected = 32128 * d + layers * (4 * d * inner + 8 * 4 + 2 * d + 3 * d * ff) + d;
        Assert.Equal(expected, ((nn.Module)pipeline.TextEncoder).parameters().Sum(p => p.numel()));
        Assert.NotEqual(0.0, pipeline.Transformer.parameters().First().abs().sum().item<float>());
        // VAE convolutions get PyTorch's Conv3d init, U(±1/√fan_in): post_quant_conv is 16 → 16, 1×1×1
        float maxWeight = pipeline.Vae!.post_quant_conv.weight.abs().max().item<float>();
        Assert.InRange(maxWeight, 0.2f, 0.25f);
        Assert.InRange(pipeline.Vae.post_quant_conv.bias.abs().max().item<float>(), 0.1f, 0.25f);

        using var video = pipeline.Generate(new GenerationRequest
        {
            Prompts = new[] { "a cat" }, Steps = preset.Steps, Height = preset.Height, Width = preset.Width, Frames = preset.Frames,
            MaxSequenceLength = preset.MaxSequenceLength,
        });
        Assert.Equal(new long[] { 1, 9, 32, 48, 3 }, video.shape);
        Assert.True(video.isfinite().all().item<bool>());
        Assert.True(video.min().item<float>() >= 0 && video.max().item<float>() <= 1);
    }

    [Fact]
    public void Same_seed_gives_the_same_random_weights()
    {
        TorchRuntime.Initialise();
        string folder = Write("wan-tiny");
        using var a = WanPipeline.CreateRandom(folder, new ComputeOptions(CPU, ScalarType.Float32, 5));
        using var b = WanPipeline.CreateRandom(folder, new ComputeOptions(CPU, ScalarType.Float32, 5));
        Assert.True(a.Vae!.parameters().Zip(b.Vae!.parameters()).All(p => p.First.allclose(p.Second, 0, 0)));
    }

    [Fact]
    public void A_fixtures_folder_without_the_tokenizer_is_refused()
    {
        Directory.CreateDirectory(_dir);
        var message = Assert.Throws<VDiTLensException>(() => PipelinePresets.ByName("wan-tiny").WriteFolder(Path.Combine(_dir, "p"), _dir)).Message;
        Assert.Contains("no tokenizer files", message);
    }

    [Fact]
    public void An_unknown_preset_is_refused_with_the_known_names()
    {
        var message = Assert.Throws<VDiTLensException>(() => PipelinePresets.ByName("wan-2b")).Message;
        Assert.Contains("cogvideox-5b, mochi-1, hunyuanvideo", message);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
