using VDiTLens.Benchmarks;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Benchmarks;

/// <summary>Pipelines built from a preset's configs with random weights (no weight file).</summary>
public sealed class WanPipelinePresetTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vditlens-preset-test-" + Guid.NewGuid().ToString("N"));
    private static string Tokenizer => Fixtures.Path("t5_tokenizer_spm");

    [Fact]
    public void Full_size_preset_is_wan_1_3b_with_umt5_xxl_and_the_wan_2_1_vae()
    {
        var folder = WanPipelineFolder.Open(WanPipelinePreset.ByName("wan-1.3b").WriteFolder(_dir, Tokenizer));
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
    public void Tiny_preset_builds_random_weights_and_generates_a_finite_video()
    {
        TorchRuntime.Initialise();
        var preset = WanPipelinePreset.ByName("tiny");
        using var pipeline = WanPipeline.CreateRandom(preset.WriteFolder(_dir, Tokenizer), new ComputeOptions(CPU, ScalarType.Float32, 3));
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
        string folder = WanPipelinePreset.ByName("tiny").WriteFolder(_dir, Tokenizer);
        using var a = WanPipeline.CreateRandom(folder, new ComputeOptions(CPU, ScalarType.Float32, 5));
        using var b = WanPipeline.CreateRandom(folder, new ComputeOptions(CPU, ScalarType.Float32, 5));
        Assert.True(a.Vae!.parameters().Zip(b.Vae!.parameters()).All(p => p.First.allclose(p.Second, 0, 0)));
    }

    [Fact]
    public void A_tokenizer_folder_without_a_model_is_refused()
    {
        Directory.CreateDirectory(_dir);
        var message = Assert.Throws<VDiTLensException>(() => WanPipelinePreset.ByName("tiny").WriteFolder(Path.Combine(_dir, "p"), _dir)).Message;
        Assert.Contains("no spiece.model or tokenizer.json", message);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
