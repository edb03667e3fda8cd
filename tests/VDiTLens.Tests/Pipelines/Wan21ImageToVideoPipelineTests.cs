using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Text;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// The Wan2.1 I2V layout: the image through the CLIP processor and vision tower into every transformer call, and
/// through the VAE into the condition channels. With zero weights on the condition channels and zero image value
/// projections the transformer computes its text-to-video self, so the generation is diffusers' wan_pipeline reference.
/// </summary>
public sealed class Wan21ImageToVideoPipelineTests(ITestOutputHelper output)
{
    private static Tensor Image(ulong seed) => torch.rand(new long[] { 1, 3, 32, 48 }, generator: new Generator(seed));

    [Fact]
    public void Zero_image_weights_reproduce_the_diffusers_text_to_video_generation()
    {
        TorchRuntime.Initialise();
        var reference = Fixtures.Load("wan_pipeline/reference.safetensors");
        using var folder = new Wan21ImageToVideoPipeline(zeroImageValues: true);
        using var pipe = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        Assert.NotNull(pipe.ImageEncoder);
        var steps = new List<Tensor>();
        using var video = pipe.Generate(WanPipelineParityTests.FixtureRequest(reference["latents_init"]) with
        {
            Image = Image(3),
            OnStep = s => steps.Add(s.Latents.clone()),
        });
        for (int i = 0; i < steps.Count; i++)
        {
            double maxAbs = (steps[i] - reference[$"latents.step{i}"]).abs().max().item<float>();
            output.WriteLine($"latents.step{i}: max abs {maxAbs:E3}");
            Assert.True(maxAbs <= 1e-4, $"latents.step{i}: max abs {maxAbs:E3}");
        }
        double videoError = (video - reference["video"]).abs().max().item<float>();
        Assert.True(videoError <= 1e-4, $"video: max abs {videoError:E3}");
    }

    [Fact]
    public void Image_embeddings_are_the_penultimate_hidden_state_of_the_processed_image()
    {
        TorchRuntime.Initialise();
        using var folder = new Wan21ImageToVideoPipeline(zeroImageValues: false);
        using var pipe = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        var image = Image(4);
        using var embeds = pipe.EncodeImage(image);
        Assert.Equal(new long[] { 1, 17, 24 }, embeds.shape);
        // by hand: 8-bit levels, centre crop 32 × 32 of the 32 × 48 image (no resize: the shortest edge is 32), rescale, normalise
        var mean = new[] { 0.48145466, 0.4578275, 0.40821073 };
        var std = new[] { 0.26862954, 0.26130258, 0.27577711 };
        using var levels = (image * 255).round() / 255;
        using var crop = levels.narrow(3, 8, 32);
        using var pixels = torch.cat(Enumerable.Range(0, 3).Select(c => (crop.narrow(1, c, 1) - mean[c]) / std[c]).ToArray(), 1);
        using var expected = pipe.ImageEncoder!.HiddenStates(pixels)[2];
        double maxAbs = (embeds - expected).abs().max().item<float>();
        Assert.True(maxAbs <= 1e-5, $"max abs {maxAbs:E3}");
    }

    [Fact]
    public void The_image_embeddings_steer_the_generation()
    {
        TorchRuntime.Initialise();
        using var folder = new Wan21ImageToVideoPipeline(zeroImageValues: false);
        using var pipe = WanPipeline.Load(folder.Path, ComputeOptions.Cpu32);
        var request = WanPipelineParityTests.FixtureRequest(torch.randn(new long[] { 2, 4, 3, 4, 6 }, generator: new Generator(8))) with { Steps = 2, Image = Image(5) };
        var keys = new List<long>();
        using var a = pipe.Denoise(request);
        // the condition channels' weights are zero, so a change can only come through the image attention
        using (pipe.Seam.Observe(new VDiTLens.Attention.AttentionSelector { Sites = new[] { "blocks.0.attn2.image" } }, (call, q, k, v, o) => keys.Add(k.shape[2])))
        using (var b = pipe.Denoise(request with { Image = Image(6) }))
            Assert.True((a - b).abs().max().item<float>() > 1e-4f, "a different image left the latents unchanged");
        Assert.NotEmpty(keys);
        Assert.All(keys, k => Assert.Equal(17L, k));
    }

    [Fact]
    public void An_image_transformer_needs_the_image_encoder()
    {
        using var folder = new Wan21ImageToVideoPipeline(zeroImageValues: true);
        var index = Path.Combine(folder.Path, "model_index.json");
        File.WriteAllText(index, File.ReadAllText(index).Replace("\"CLIPVisionModel\"", "null").Replace("\"transformers\",\n    null", "null,\n    null"));
        var e = Assert.Throws<VDiTLensException>(() => WanPipelineFolder.Open(folder.Path));
        Assert.Contains("image_encoder", e.Message);
    }
}
