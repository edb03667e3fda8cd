using TorchSharp;
using VDiTLens.Models.Wan;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Wan;

/// <summary>Per-token timesteps [B, L] (Wan2.2 TI2V) against the per-sample path that the wan_t2v fixture pins.</summary>
public sealed class WanPerTokenTimestepTests
{
    [Fact]
    public void The_same_timestep_on_every_token_gives_the_per_sample_output()
    {
        TorchRuntime.Initialise();
        using var model = WanTransformer3DModel.Load(VDiTLens.IO.ModelFolder.Open(Fixtures.Path("wan_t2v")), ComputeOptions.Cpu32);
        var data = Fixtures.Load("wan_t2v/inputs_outputs.safetensors");
        var x = data["hidden_states"];
        long tokens = x.shape[2] * (x.shape[3] / 2) * (x.shape[4] / 2);
        var perSample = data["timestep"].to(ScalarType.Float32);
        var perToken = perSample.unsqueeze(1).expand(-1, tokens).contiguous();
        using var _ = torch.no_grad();
        var a = model.Forward(x, perSample, data["encoder_hidden_states"]);
        var b = model.Forward(x, perToken, data["encoder_hidden_states"]);
        Assert.True((a - b).abs().max().item<float>() <= 1e-6f, "per-token path differs from the per-sample path");
        Fixtures.AssertClose(b, data["output"], 1e-5, "per-token output vs diffusers");
    }

    [Fact]
    public void A_timestep_per_token_must_cover_the_grid()
    {
        TorchRuntime.Initialise();
        using var model = WanTransformer3DModel.Load(VDiTLens.IO.ModelFolder.Open(Fixtures.Path("wan_t2v")), ComputeOptions.Cpu32);
        var data = Fixtures.Load("wan_t2v/inputs_outputs.safetensors");
        var x = data["hidden_states"];
        var e = Assert.Throws<VDiTLensException>(() => model.Forward(x, torch.zeros(x.shape[0], 5), data["encoder_hidden_states"]));
        Assert.Contains("per token", e.Message);
    }

    [Fact]
    public void Token_timesteps_are_zero_on_the_conditioned_first_frame()
    {
        TorchRuntime.Initialise();
        using var mask = VDiTLens.Pipelines.WanTokenTimesteps.FirstFrameMask(new long[] { 2, 8, 3, 4, 6 }, true, torch.CPU);
        using var t = VDiTLens.Pipelines.WanTokenTimesteps.PerToken(mask, torch.tensor(900L), 2);
        Assert.Equal(new long[] { 2, 18 }, t.shape);
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(0f, t.narrow(1, 0, 6).abs().max().item<float>());
        Assert.Equal(900f, t.narrow(1, 6, 12).min().item<float>());
    }
}
