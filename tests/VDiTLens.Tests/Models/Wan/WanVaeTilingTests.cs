using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Wan;

/// <summary>Spatial tiling against diffusers' tiled_decode / tiled_encode (fixture wan_vae_tiling, 24-px tiles every 16 px).</summary>
public sealed class WanVaeTilingTests(ITestOutputHelper output)
{
    private static readonly WanVaeTiling FixtureTiles = new(MinHeight: 24, MinWidth: 24, StrideHeight: 16, StrideWidth: 16);

    private static (WanVae Vae, Dictionary<string, Tensor> Data) Setup(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        var vae = WanVae.Load(ModelFolder.Open(Fixtures.Path("wan_vae")), new ComputeOptions(torch.CPU, dtype, 0));
        return (vae, Fixtures.Load("wan_vae_tiling/tiled.safetensors"));
    }

    private void Check(Tensor actual, Tensor expected, double tolerance, string what) =>
        Fixtures.AssertClose(actual, expected, tolerance, what, output);

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.Float64, 1e-7)]
    public void Tiled_decode_and_encode_match_diffusers(ScalarType dtype, double tolerance)
    {
        var (vae, data) = Setup(dtype);
        var untiled = vae.Decode(data["z"]);
        vae.Tiling = FixtureTiles;
        var tiled = vae.Decode(data["z"]);
        Check(tiled, data["tiled_decode"], tolerance, $"tiled decode ({dtype})");
        // the seams really change the result, so the comparison above exercises the blending
        Assert.True(Fixtures.RelativeL2(untiled, data["tiled_decode"]) > 1e-2);
        Check(vae.EncodeMoments(data["video"]), data["tiled_encode_moments"], tolerance, $"tiled encode moments ({dtype})");
    }

    [Fact]
    public void Tiling_is_skipped_when_the_frame_fits_in_one_tile()
    {
        var (vae, data) = Setup(ScalarType.Float32);
        var untiled = vae.Decode(data["z"]);
        vae.Tiling = new WanVaeTiling(MinHeight: 32, MinWidth: 48, StrideHeight: 16, StrideWidth: 16);
        Assert.Equal(0.0, Fixtures.RelativeL2(vae.Decode(data["z"]), untiled));
    }

    [Fact]
    public void Rejects_tiles_that_are_not_multiples_of_the_spatial_scale()
    {
        var (vae, _) = Setup(ScalarType.Float32);
        var e = Assert.Throws<VDiTLensException>(() => vae.Tiling = new WanVaeTiling(MinHeight: 20));
        Assert.Contains("MinHeight", e.Message);
    }
}
