using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.HunyuanVideo.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.HunyuanVideo;

public sealed class HunyuanVideoVaeParityTests(ITestOutputHelper output)
{
    private const string Fixture = "hunyuan_video_vae";

    private static (HunyuanVideoVae Vae, Dictionary<string, Tensor> Data) Setup(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        var vae = HunyuanVideoVae.Load(ModelFolder.Open(Fixtures.Path(Fixture)), new ComputeOptions(torch.CPU, dtype, 0));
        return (vae, Fixtures.Load($"{Fixture}/inputs_outputs.safetensors"));
    }

    private void Check(Tensor actual, Tensor expected, double tolerance, string what)
    {
        double error = Fixtures.RelativeL2(actual, expected);
        output.WriteLine($"{what}: relative L2 {error:E3}");
        Assert.True(error <= tolerance, $"{what}: relative L2 error {error:E3} exceeds {tolerance:E1}");
    }

    [Fact]
    public void Parameter_names_are_the_checkpoint_names()
    {
        var (vae, _) = Setup(ScalarType.Float32);
        using var weights = Checkpoint.Open(Fixtures.Path(Fixture));
        Assert.Equal(weights.Names.OrderBy(n => n, StringComparer.Ordinal), vae.state_dict().Keys.OrderBy(n => n, StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.Float64, 1e-7)]
    public void Decode_matches_diffusers(ScalarType dtype, double tolerance)
    {
        var (vae, data) = Setup(dtype);
        var video = vae.Decode(data["z"]);
        Check(video, data["decode"], tolerance, $"decode ({dtype})");
        if (dtype == ScalarType.Float32)
            Check(video, data["decode_fp32cpu"], tolerance, "decode vs diffusers' own float32 run");
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.Float64, 1e-7)]
    public void Encode_matches_diffusers(ScalarType dtype, double tolerance)
    {
        var (vae, data) = Setup(dtype);
        var (mean, logVar) = vae.Encode(data["video"]);
        Check(mean, data["encode_mean"], tolerance, $"encode_mean ({dtype})");
        Check(logVar, data["encode_logvar"], tolerance, $"encode_logvar ({dtype})");
    }

    [Fact]
    public void Mid_block_attention_goes_through_the_seam_with_a_causal_frame_mask()
    {
        var (vae, data) = Setup(ScalarType.Float64);
        var recorder = new DenseProbabilityRecorder();
        using var attached = vae.Seam.Attach(recorder);
        vae.Decode(data["z"]);
        Assert.Equal(new[] { "encoder.mid_block.attentions.0", "decoder.mid_block.attentions.0" }, vae.Sites.Select(s => s.Name));
        var p = recorder.Probabilities["decoder.mid_block.attentions.0"].to(ScalarType.Float64);
        // 3 latent frames of 4×4: 48 tokens, one head; frame f sees frames ≤ f, nothing later.
        Assert.Equal(new long[] { 1, 1, 48, 48 }, p.shape);
        Assert.Equal(0.0, p[0, 0, ..16, 16..].abs().max().item<double>());
        Assert.Equal(0.0, p[0, 0, 16..32, 32..].abs().max().item<double>());
        Assert.True(p[0, 0, 32.., ..16].sum().item<double>() > 0, "the last frame attends the first");
        Check(p.sum(-1), torch.ones(1, 1, 48, dtype: ScalarType.Float64), 1e-6, "rows sum to 1 (probabilities stored in float32)");
    }

    [Fact]
    public void Causal_frame_mask_is_diffusers_prepare_causal_attention_mask()
    {
        // diffusers: indices 1..T repeated H·W times, mask[i, j] = 0 where index[j] <= index[i], else −inf.
        using var mask = HunyuanVideoVaeAttention.CausalFrameMask(3, 2, torch.CPU);
        var expected = new bool[6, 6];
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
                expected[i, j] = j / 2 <= i / 2;
        Assert.Equal(expected.Cast<bool>().ToArray(), mask.reshape(36).data<bool>().ToArray());
    }

    [Fact]
    public void Clips_that_diffusers_would_tile_in_time_are_refused()
    {
        var (vae, _) = Setup(ScalarType.Float32);
        var e = Assert.Throws<VDiTLensException>(() => vae.Decode(torch.zeros(new long[] { 1, 4, 5, 1, 1 })));
        Assert.Contains("temporal tiles", e.Message);
        Assert.Throws<VDiTLensException>(() => vae.Encode(torch.zeros(new long[] { 1, 3, 17, 8, 8 })));
        Assert.Throws<VDiTLensException>(() => vae.Decode(torch.zeros(new long[] { 1, 3, 2, 1, 1 })));
    }
}
