using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Wan;

public sealed class WanVaeParityTests(ITestOutputHelper output)
{
    private static (WanVae Vae, Dictionary<string, Tensor> Data) Setup(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        var vae = WanVae.Load(ModelFolder.Open(Fixtures.Path("wan_vae")), new ComputeOptions(torch.CPU, dtype, 0));
        var data = Fixtures.Load("wan_vae/inputs_outputs.safetensors");
        return (vae, data);
    }

    private void Check(Tensor actual, Tensor expected, double tolerance, string what) =>
        Fixtures.AssertClose(actual, expected, tolerance, what, output);

    // Decode and encode are checked with every family's (Models/Common/VaeParityTests); Wan's fixture also holds the
    // decode before its clamp to [−1, 1] and the encoder's moments. Tolerances and measured errors as there.
    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.Float64, 1e-7)]
    [InlineData(ScalarType.BFloat16, 5e-2)]
    public void Unclamped_decode_matches_diffusers_and_decode_clamps_it(ScalarType dtype, double tolerance)
    {
        var (vae, data) = Setup(dtype);
        var unclamped = vae.DecodeUnclamped(data["z"]);
        Check(unclamped, data["decode_unclamped"], tolerance, $"decode_unclamped ({dtype})");
        Assert.True(vae.Decode(data["z"]).equal(unclamped.clamp(-1, 1)).all().item<bool>());
    }

    [Fact]
    public void Mid_block_attention_goes_through_the_seam()
    {
        var (vae, data) = Setup(ScalarType.Float32);
        var recorder = new VDiTLens.Attention.DenseProbabilityRecorder();
        using var attached = vae.Seam.Attach(recorder);
        vae.Decode(data["z"].narrow(2, 0, 1));
        vae.Encode(data["video"].narrow(2, 0, 1));
        Assert.Equal(new[] { "decoder.mid_block.attentions.0", "encoder.mid_block.attentions.0" }, recorder.Probabilities.Keys.Order());
        Assert.Equal(new[] { "encoder.mid_block.attentions.0", "decoder.mid_block.attentions.0" }, vae.Sites.Select(s => s.Name));
        // one frame of 4×6 latent pixels: 24 tokens, single head
        Assert.Equal(new long[] { 1, 1, 24, 24 }, recorder.Probabilities["decoder.mid_block.attentions.0"].shape);
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.Float64, 1e-7)]
    [InlineData(ScalarType.BFloat16, 5e-2)]
    public void Encode_moments_match_diffusers(ScalarType dtype, double tolerance)
    {
        var (vae, data) = Setup(dtype);
        Check(vae.Encode(data["video"]).Moments, data["encode_moments"], tolerance, $"encode_moments ({dtype})");
    }

    [Fact]
    public void Denormalize_is_the_pipeline_formula()
    {
        var (vae, data) = Setup(ScalarType.Float32);
        Check(vae.Denormalize(data["latents_normalized"]), data["z"], 1e-7, "denormalize");
        Check(vae.Normalize(data["z"]), data["latents_normalized"], 1e-6, "normalize");
    }

    [Fact]
    public void Decode_frame_count_follows_the_temporal_scale()
    {
        var (vae, data) = Setup(ScalarType.Float32);
        var twoFrames = data["z"].narrow(2, 0, 2);
        var video = vae.Decode(twoFrames);
        Assert.Equal(new long[] { 1, 3, 5, 32, 48 }, video.shape);
        // causal: the first 5 frames do not depend on later latent frames
        Check(video, data["decode"].narrow(2, 0, 5), 1e-5, "causal prefix");
    }

    [Fact]
    public void Batch_samples_decode_independently()
    {
        var (vae, data) = Setup(ScalarType.Float32);
        var z = data["z"];
        var video = vae.Decode(torch.cat(new[] { z, z * 0.5 }, 0));
        Check(video.narrow(0, 0, 1), data["decode"], 1e-5, "batch sample 0");
        Check(video.narrow(0, 1, 1), vae.Decode(z * 0.5), 1e-5, "batch sample 1 vs alone");
    }
}
