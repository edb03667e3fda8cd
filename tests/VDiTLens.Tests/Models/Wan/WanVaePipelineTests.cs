using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Wan;

/// <summary>The VAE of the end-to-end wan_pipeline fixture: de-normalisation and decode of the final latents (batch 2).</summary>
public sealed class WanVaePipelineTests(ITestOutputHelper output)
{
    // Measured: float32 video 9.7e-7, float64 video 2.4e-8 relative L2 (README's float64-vs-float32 gap: 9.1e-7).
    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.Float64, 1e-7)]
    public void Pipeline_vae_reproduces_the_pipeline_video(ScalarType dtype, double tolerance)
    {
        TorchRuntime.Initialise();
        var vae = WanVae.Load(ModelFolder.Open(Fixtures.Path("wan_pipeline", "pipeline", "vae")), new ComputeOptions(torch.CPU, dtype, 0));
        Assert.Equal(4, vae.Config.base_dim);
        var data = Fixtures.Load("wan_pipeline/reference.safetensors");

        // WanPipeline casts the float32 latents to the VAE dtype before de-normalising
        var z = vae.Denormalize(data["latents_final"].to(dtype));
        Check(z, data["vae_decode_input"], tolerance, $"vae_decode_input ({dtype})");

        var video = vae.Decode(z);
        // diffusers' postprocess_video(output_type="np"): x/2 + 0.5 clamped to [0, 1], as [B, F, H, W, 3]
        var frames = (video / 2 + 0.5).clamp(0.0, 1.0).permute(0, 2, 3, 4, 1);
        Check(frames, data["video"], tolerance, $"video ({dtype})");
    }

    private void Check(Tensor actual, Tensor expected, double tolerance, string what) =>
        Fixtures.AssertClose(actual, expected, tolerance, what, output);
}
