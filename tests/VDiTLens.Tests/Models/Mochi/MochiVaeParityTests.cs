using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Mochi.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Mochi;

public sealed class MochiVaeParityTests(ITestOutputHelper output)
{
    internal static (MochiVae Vae, Dictionary<string, Tensor> Data) Setup(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        var vae = MochiVae.Load(ModelFolder.Open(Fixtures.Path("mochi_vae")), new ComputeOptions(torch.CPU, dtype, 0));
        var data = Fixtures.Load("mochi_vae/inputs_outputs.safetensors");
        return (vae, data);
    }

    private void Check(Tensor actual, Tensor expected, double tolerance, string what) =>
        Fixtures.AssertClose(actual, expected, tolerance, what, output);

    [Fact]
    public void Decode_without_dropping_frames_keeps_all_t_per_latent_frame()
    {
        var (vae, data) = Setup(ScalarType.Float64);
        vae.DropLastTemporalFrames = false;
        var video = vae.Decode(data["z"]);
        Assert.Equal(new long[] { 1, 3, 18, 32, 32 }, video.shape);
        // the dropped frames are the first t − 1 = 5; the rest is the default output
        Check(video.narrow(2, 5, 13), data["decode"], 1e-7, "frames 5.. of the undropped decode");
    }

    [Fact]
    public void Batch_samples_decode_and_encode_independently()
    {
        var (vae, data) = Setup(ScalarType.Float32);
        var z = data["z"];
        var video = vae.Decode(torch.cat(new[] { z, z * 0.5 }, 0));
        Check(video.narrow(0, 0, 1), data["decode"], 1e-5, "batch sample 0");
        Check(video.narrow(0, 1, 1), vae.Decode(z * 0.5), 1e-5, "batch sample 1 vs alone");
        var x = data["video"];
        var mean = vae.Encode(torch.cat(new[] { x.flip(3), x }, 0)).Mean;
        Check(mean.narrow(0, 1, 1), data["encode_mean"], 1e-5, "encode batch sample 1");
    }

    [Fact]
    public void Denormalize_is_the_pipeline_formula_and_normalize_inverts_it()
    {
        TorchRuntime.Initialise();
        var config = new MochiVaeConfig { latent_channels = 2, latents_mean = new[] { 0.5, -1.0 }, latents_std = new[] { 2.0, 0.25 }, scaling_factor = 4.0, encoder_block_out_channels = new[] { 32, 32 }, decoder_block_out_channels = new[] { 32, 32 }, layers_per_block = new[] { 0, 0, 0 }, temporal_expansions = new[] { 1 }, spatial_expansions = new[] { 1 }, add_attention_block = new[] { false, false, false } };
        var vae = new MochiVae(config, torch.CPU, ScalarType.Float64);
        var latents = torch.randn(new long[] { 1, 2, 2, 3, 3 }, ScalarType.Float64);
        var z = vae.Denormalize(latents);
        // channel 0: x·2/4 + 0.5; channel 1: x·0.25/4 − 1
        Check(z.select(1, 0), latents.select(1, 0) * 0.5 + 0.5, 1e-12, "denormalize channel 0");
        Check(z.select(1, 1), latents.select(1, 1) * 0.0625 - 1.0, 1e-12, "denormalize channel 1");
        Check(vae.Normalize(z), latents, 1e-12, "normalize ∘ denormalize");
    }
}
