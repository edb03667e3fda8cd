using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.CogVideoX.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.CogVideoX;

/// <summary>Against tests/fixtures/cogvideox_vae: diffusers' AutoencoderKLCogVideoX in float64 (stored as float32).</summary>
public sealed class CogVideoXVaeParityTests(ITestOutputHelper output)
{
    private static (CogVideoXVae Vae, Dictionary<string, Tensor> Data) Setup(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        var vae = CogVideoXVae.Load(ModelFolder.Open(Fixtures.Path("cogvideox_vae")), new ComputeOptions(torch.CPU, dtype, 0));
        var data = Fixtures.Load("cogvideox_vae/inputs_outputs.safetensors");
        return (vae, data);
    }

    private double Check(Tensor actual, Tensor expected, double tolerance, string what)
    {
        double error = Fixtures.RelativeL2(actual, expected);
        output.WriteLine($"{what}: relative L2 {error:E3}");
        Assert.True(error <= tolerance, $"{what}: relative L2 error {error:E3} exceeds {tolerance:E1}");
        return error;
    }

    [Fact]
    public void Frame_batch_size_is_part_of_the_result()
    {
        // GroupNorm statistics are per batch: decoding all 5 latent frames at once, or encoding all 17 frames at
        // once, is a different (valid) computation, far from the reference; this guards the default batching.
        var (vae, data) = Setup(ScalarType.Float32);
        vae.LatentFramesPerBatch = 5;
        vae.SampleFramesPerBatch = 17;
        var video = vae.Decode(data["z"]);
        var mean = vae.Encode(data["video"]).Mean;
        Assert.Equal(data["decode"].shape, video.shape);
        Assert.Equal(data["encode_mean"].shape, mean.shape);
        double decodeError = Fixtures.RelativeL2(video, data["decode"]), encodeError = Fixtures.RelativeL2(mean, data["encode_mean"]);
        output.WriteLine($"one batch: decode {decodeError:E3}, encode_mean {encodeError:E3}");
        Assert.True(decodeError > 1e-3 && encodeError > 1e-3, $"one-batch results should differ: decode {decodeError:E3}, encode {encodeError:E3}");
    }

    [Fact]
    public void Decode_of_the_first_batch_is_causal()
    {
        // the first batch ([0:3] of 5 latent frames) gives the first 9 frames whatever follows it
        var (vae, data) = Setup(ScalarType.Float32);
        var video = vae.Decode(data["z"].narrow(2, 0, 3));
        Assert.Equal(new long[] { 1, 3, 9, 32, 32 }, video.shape);
        Check(video, data["decode"].narrow(2, 0, 9), 1e-5, "first decode batch");
    }

    [Fact]
    public void Batch_samples_run_independently()
    {
        var (vae, data) = Setup(ScalarType.Float32);
        var z = data["z"];
        var video = vae.Decode(torch.cat(new[] { z, z * 0.5 }, 0));
        Check(video.narrow(0, 0, 1), data["decode"], 1e-5, "batch sample 0");
        Check(video.narrow(0, 1, 1), vae.Decode(z * 0.5), 1e-5, "batch sample 1 vs alone");
    }

    [Fact]
    public void Scale_and_unscale_are_the_pipeline_formulas()
    {
        var (vae, data) = Setup(ScalarType.Float64);
        var z = data["z"].to(ScalarType.Float64);
        Check(vae.Unscale(z), z / 1.15258426, 1e-15, "unscale");
        Check(vae.Scale(vae.Unscale(z)), z, 1e-15, "scale ∘ unscale");
    }
}
