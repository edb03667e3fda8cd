using TorchSharp;
using VDiTLens.Models.Common;
using VDiTLens.IO;
using VDiTLens.Models.HunyuanVideo.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.HunyuanVideo;

/// <summary>
/// The HunyuanVideo VAE's spatial tiling against diffusers' tiled decode (fixture hunyuan_video_vae_tiling: the
/// hunyuan_video_vae weights, enable_tiling(32, 32, stride 24 × 16) so a 6 × 8 latent gives 2 × 4 tiles of unequal
/// sizes with blends on both axes; float64 reference).
/// </summary>
public sealed class HunyuanVideoVaeSpatialTilingTests(ITestOutputHelper output)
{
    private static readonly VaeSpatialTiling FixtureTiling = new(MinHeight: 32, MinWidth: 32, StrideHeight: 24, StrideWidth: 16);

    private static HunyuanVideoVae Load(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        return HunyuanVideoVae.Load(ModelFolder.Open(Fixtures.Path("hunyuan_video_vae")), new ComputeOptions(torch.CPU, dtype, 0));
    }

    // Measured against diffusers' float64 tiled decode: float32 1.4e-6 relative L2 (diffusers' own float32 tiled decode:
    // 1.3e-6), float64 2.6e-8 (the float32 storage of the reference). Tiled and untiled decodes differ by 0.86 relative.
    [Theory]
    [InlineData(ScalarType.Float32, 3e-6)]
    [InlineData(ScalarType.Float64, 1e-7)]
    public void Tiled_decode_matches_diffusers(ScalarType dtype, double tolerance)
    {
        var reference = Fixtures.Load("hunyuan_video_vae_tiling/decodes.safetensors");
        using var vae = Load(dtype);
        vae.Tiling = FixtureTiling;
        using var tiled = vae.Decode(reference["z"]);
        Fixtures.AssertClose(tiled, reference["decode_tiled"], tolerance, $"tiled decode ({dtype})", output, withMaxAbs: true);
        output.WriteLine($"(diffusers float32 tiled vs float64: {Fixtures.RelativeL2(reference["decode_tiled_fp32cpu"], reference["decode_tiled"]):E3}; tiled vs untiled: {Fixtures.RelativeL2(reference["decode_tiled"], reference["decode_untiled"]):E3})");
    }

    [Fact]
    public void Latents_within_one_tile_decode_as_without_tiling()
    {
        var reference = Fixtures.Load("hunyuan_video_vae_tiling/decodes.safetensors");
        using var vae = Load(ScalarType.Float64);
        vae.Tiling = VaeSpatialTiling.Default; // 256-pixel tiles: a 48 × 64 video is one tile, so no tiling
        using var decoded = vae.Decode(reference["z"]);
        Fixtures.AssertClose(decoded, reference["decode_untiled"], 1e-7, "default tiling on a small latent", output);
    }

    [Fact]
    public void Stride_larger_than_the_tile_is_refused()
    {
        var e = Assert.Throws<VDiTLensException>(() => new VaeSpatialTiling(32, 32, 40, 16).Validate(8));
        Assert.Contains("stride (40 × 16) must not exceed the tile (32 × 32)", e.Message);
    }
}
