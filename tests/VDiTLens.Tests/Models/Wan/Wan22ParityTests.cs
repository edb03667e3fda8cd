using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Wan;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Wan;

/// <summary>
/// The Wan2.2 components against diffusers' float64 references (fixtures wan22_ti2v, wan22_vae): the transformer with
/// per-token timesteps (first frame at t = 0) and the residual, patchified VAE, run in float32 on the CPU.
/// </summary>
public sealed class Wan22ParityTests(ITestOutputHelper output)
{
    private void Check(Tensor actual, Tensor expected, string what)
    {
        Fixtures.AssertClose(actual, expected, 1e-5, what, output, withMaxAbs: true);
        double maxAbs = (actual.cpu().to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(maxAbs <= 1e-4, $"{what}: max abs difference {maxAbs:E3} exceeds 1e-4");
    }

    [Fact]
    public void Transformer_with_per_token_timesteps_matches_diffusers()
    {
        TorchRuntime.Initialise();
        using var model = WanTransformer3DModel.Load(ModelFolder.Open(Fixtures.Path("wan22_ti2v")), ComputeOptions.Cpu32);
        var data = Fixtures.Load("wan22_ti2v/inputs_outputs.safetensors");
        using var _ = torch.no_grad();
        Assert.Equal(2, data["timestep"].dim());
        Check(model.Forward(data["hidden_states"], data["timestep"], data["encoder_hidden_states"]), data["output"], "wan22_ti2v output (per-token timesteps)");
        var scalar = data["timestep"].select(1, data["timestep"].shape[1] - 1).contiguous();
        Check(model.Forward(data["hidden_states"], scalar, data["encoder_hidden_states"]), data["output_scalar_timestep"], "wan22_ti2v output (one timestep per sample)");
    }

    [Fact]
    public void Residual_vae_decode_matches_diffusers()
    {
        TorchRuntime.Initialise();
        using var vae = WanVae.Load(ModelFolder.Open(Fixtures.Path("wan22_vae")), ComputeOptions.Cpu32);
        var data = Fixtures.Load("wan22_vae/inputs_outputs.safetensors");
        Assert.True(vae.Config.is_residual);
        Assert.Equal(16, vae.Config.SpatialScale);
        var video = vae.Decode(data["z"]);
        Assert.Equal(new long[] { 1, 3, 9, 32, 64 }, video.shape);
        Check(video, data["decode"], "wan22_vae decode");
    }

    [Fact]
    public void Residual_vae_encode_matches_diffusers()
    {
        TorchRuntime.Initialise();
        using var vae = WanVae.Load(ModelFolder.Open(Fixtures.Path("wan22_vae")), ComputeOptions.Cpu32);
        var data = Fixtures.Load("wan22_vae/inputs_outputs.safetensors");
        var (mean, logVar) = vae.Encode(data["video"]);
        Check(mean, data["encode_mean"], "wan22_vae encode mean");
        Check(logVar, data["encode_logvar"], "wan22_vae encode logvar");
        Check(vae.Encode(data["video"].narrow(2, 0, 1)).Mean, data["encode_frame0_mean"], "wan22_vae encode of one frame");
    }
}
