using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.CogVideoX.Vae;
using VDiTLens.Models.Common;
using VDiTLens.Models.HunyuanVideo.Vae;
using VDiTLens.Models.Mochi.Vae;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Common;

/// <summary>
/// Every family's VAE against its fixture (diffusers' AutoencoderKL… run in float64, stored as float32, plus
/// diffusers' own float32 run): decode and encode in float32 and float64, and in bfloat16 where the family runs it.
/// </summary>
/// <remarks>
/// Measured (relative L2): float64 ≈ 2.5e-8 for every family, the float32 rounding of the stored references, and
/// rounding the port's float64 output to float32 must then land on them (≤ 1e-9); float32 ≤ 1.3e-6; bfloat16
/// 2e-2 to 3e-2 (no bf16 reference exists: that bound only catches gross errors of the half-precision paths; Mochi's
/// encode takes its Fourier features from the float32 video, as rounding it to bf16 first was off by radians).
/// </remarks>
public sealed class VaeParityTests(ITestOutputHelper output)
{
    /// <summary>A family's fixture folder, how to load its VAE, and whether its bfloat16 path is checked.</summary>
    private sealed record Family(string Fixture, Func<ModelFolder, ComputeOptions, Vae> Load, bool BFloat16 = true);

    /// <summary>The two calls every family's VAE has.</summary>
    private sealed class Vae(IDisposable model, Func<Tensor, Tensor> decode, Func<Tensor, LatentDistribution> encode) : IDisposable
    {
        public Tensor Decode(Tensor z) => decode(z);
        public LatentDistribution Encode(Tensor video) => encode(video);
        public void Dispose() => model.Dispose();
    }

    private static readonly Family[] Families =
    {
        new("cogvideox_vae", (f, o) => { var v = CogVideoXVae.Load(f, o); return new Vae(v, v.Decode, v.Encode); }),
        new("mochi_vae", (f, o) => { var v = MochiVae.Load(f, o); return new Vae(v, v.Decode, v.Encode); }),
        new("wan_vae", (f, o) => { var v = WanVae.Load(f, o); return new Vae(v, v.Decode, v.Encode); }),
        new("hunyuan_video_vae", (f, o) => { var v = HunyuanVideoVae.Load(f, o); return new Vae(v, v.Decode, v.Encode); }, BFloat16: false),
    };

    public static TheoryData<string, ScalarType, double> Cases()
    {
        var cases = new TheoryData<string, ScalarType, double>();
        foreach (var family in Families)
        {
            cases.Add(family.Fixture, ScalarType.Float32, 1e-5);
            cases.Add(family.Fixture, ScalarType.Float64, 1e-7);
            if (family.BFloat16) cases.Add(family.Fixture, ScalarType.BFloat16, 5e-2);
        }
        return cases;
    }

    private static (Vae Vae, Dictionary<string, Tensor> Data) Setup(string fixture, ScalarType dtype)
    {
        TorchRuntime.Initialise();
        var family = Families.Single(f => f.Fixture == fixture);
        var vae = family.Load(ModelFolder.Open(Fixtures.Path(fixture)), new ComputeOptions(torch.CPU, dtype, 0));
        return (vae, Fixtures.Load($"{fixture}/inputs_outputs.safetensors"));
    }

    /// <summary>The stored reference (and, in float32, diffusers' own float32 run) against the port's result.</summary>
    private void Check(Tensor actual, Dictionary<string, Tensor> data, string key, ScalarType dtype, double tolerance)
    {
        Fixtures.AssertClose(actual, data[key], tolerance, $"{key} ({dtype})", output);
        if (dtype == ScalarType.Float64)
            Fixtures.AssertClose(actual.to(ScalarType.Float32), data[key], 1e-9, $"{key} ({dtype}) rounded to float32", output);
        if (dtype == ScalarType.Float32)
            Fixtures.AssertClose(actual, data[key + "_fp32cpu"], tolerance, $"{key} vs diffusers' own float32 run", output);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decode_matches_diffusers(string fixture, ScalarType dtype, double tolerance)
    {
        var (vae, data) = Setup(fixture, dtype);
        using (vae)
            Check(vae.Decode(data["z"]), data, "decode", dtype, tolerance);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Encode_matches_diffusers(string fixture, ScalarType dtype, double tolerance)
    {
        var (vae, data) = Setup(fixture, dtype);
        using (vae)
        {
            var (mean, logVar) = vae.Encode(data["video"]);
            Check(mean, data, "encode_mean", dtype, tolerance);
            Check(logVar, data, "encode_logvar", dtype, tolerance);
        }
    }
}
