using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Models.Mochi.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Mochi;

/// <summary>
/// The Mochi-1 VAE's spatial tiling against diffusers' tiled decode (fixture mochi_vae_tiling: the mochi_vae weights,
/// enable_tiling(32, 32, stride 24 × 16) on a 6 × 8 latent: 2 × 4 tiles, each decoded one-shot with its first frames
/// dropped, blended on both axes; float64 reference).
/// </summary>
public sealed class MochiVaeSpatialTilingTests(ITestOutputHelper output)
{
    private static MochiVae Load(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        return MochiVae.Load(ModelFolder.Open(Fixtures.Path("mochi_vae")), new ComputeOptions(torch.CPU, dtype, 0));
    }

    // Measured against diffusers' float64 tiled decode: float32 1.0e-6, float64 2.5e-8 relative L2 (diffusers'
    // own float32 tiled decode: 1.1e-6). Tiled and untiled decodes differ by 0.82 relative.
    [Theory]
    [InlineData(ScalarType.Float32, 3e-6)]
    [InlineData(ScalarType.Float64, 1e-7)]
    public void Tiled_decode_matches_diffusers(ScalarType dtype, double tolerance)
    {
        var reference = Fixtures.Load("mochi_vae_tiling/decodes.safetensors");
        using var vae = Load(dtype);
        vae.Tiling = new VaeSpatialTiling(MinHeight: 32, MinWidth: 32, StrideHeight: 24, StrideWidth: 16);
        using var tiled = vae.Decode(reference["z"]);
        Fixtures.AssertClose(tiled, reference["decode_tiled"], tolerance, $"tiled decode ({dtype})", output, withMaxAbs: true);
        output.WriteLine($"(tiled vs untiled: {Fixtures.RelativeL2(reference["decode_tiled"], reference["decode_untiled"]):E3})");
    }

    [Fact]
    public void Without_tiling_the_decode_is_diffusers_untiled_one()
    {
        var reference = Fixtures.Load("mochi_vae_tiling/decodes.safetensors");
        using var vae = Load(ScalarType.Float64);
        vae.Tiling = VaeSpatialTiling.Default; // 256-pixel tiles: this latent is one tile, so no tiling
        using var decoded = vae.Decode(reference["z"]);
        Fixtures.AssertClose(decoded, reference["decode_untiled"], 1e-7, "untiled decode", output);
    }
}
