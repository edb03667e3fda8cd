using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.CogVideoX.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.CogVideoX;

/// <summary>
/// Tiled decode/encode against diffusers' tiled_decode / tiled_encode written out naively here: every tile run
/// untiled, blend_v / blend_h row by row in place in diffusers' order, crop to the row limit, concatenate.
/// </summary>
public sealed class CogVideoXVaeTilingTests(ITestOutputHelper output)
{
    // 24-pixel tiles (3 latent pixels) overlapping by 1/3: latent stride 2, 8 pixels blended, 16 kept per tile;
    // encode: pixel stride 16, 1 latent pixel blended, 2 kept
    private static readonly CogVideoXVaeTiling SmallTiles = new(24, 24, 1.0 / 3, 1.0 / 3);

    private static (CogVideoXVae Vae, Dictionary<string, Tensor> Data) Setup()
    {
        TorchRuntime.Initialise();
        var vae = CogVideoXVae.Load(ModelFolder.Open(Fixtures.Path("cogvideox_vae")), new ComputeOptions(torch.CPU, ScalarType.Float64, 0));
        return (vae, Fixtures.Load("cogvideox_vae/inputs_outputs.safetensors", ScalarType.Float64));
    }

    private static Tensor NaiveTiled(Tensor input, int tile, int stride, int blend, int rowLimit, Func<Tensor, Tensor> run)
    {
        long height = input.shape[3], width = input.shape[4];
        var rows = new List<List<Tensor>>();
        for (long i = 0; i < height; i += stride)
        {
            var row = new List<Tensor>();
            for (long j = 0; j < width; j += stride)
                row.Add(run(input.narrow(3, i, Math.Min(tile, height - i)).narrow(4, j, Math.Min(tile, width - j))));
            rows.Add(row);
        }
        var resultRows = new List<Tensor>();
        for (int i = 0; i < rows.Count; i++)
        {
            var resultRow = new List<Tensor>();
            for (int j = 0; j < rows[i].Count; j++)
            {
                var t = rows[i][j];
                if (i > 0) BlendLoop(rows[i - 1][j], t, blend, 3);
                if (j > 0) BlendLoop(rows[i][j - 1], t, blend, 4);
                resultRow.Add(t.narrow(3, 0, Math.Min(rowLimit, t.shape[3])).narrow(4, 0, Math.Min(rowLimit, t.shape[4])));
            }
            resultRows.Add(torch.cat(resultRow, 4));
        }
        return torch.cat(resultRows, 3);
    }

    private static void BlendLoop(Tensor a, Tensor b, int extent, int dim)
    {
        extent = (int)Math.Min(Math.Min(a.shape[dim], b.shape[dim]), extent);
        for (int y = 0; y < extent; y++)
            b.narrow(dim, y, 1).copy_(a.narrow(dim, a.shape[dim] - extent + y, 1) * (1 - (double)y / extent) + b.narrow(dim, y, 1) * ((double)y / extent));
    }

    [Fact]
    public void Tiled_decode_is_diffusers_tiled_decode()
    {
        var (vae, data) = Setup();
        var z = data["z"];
        var expected = NaiveTiled(z, 3, 2, 8, 16, vae.Decode);
        var untiled = vae.Decode(z);
        vae.Tiling = SmallTiles;
        var tiled = vae.Decode(z);
        Assert.Equal(untiled.shape, tiled.shape);
        double error = Fixtures.RelativeL2(tiled, expected);
        output.WriteLine($"tiled decode vs naive tiling: {error:E3}; vs untiled: {Fixtures.RelativeL2(tiled, untiled):E3}");
        Assert.True(error <= 1e-12, $"tiled decode differs from the naive tiling by {error:E3}");
        // a tile per 2×2 latent pixels sees few GroupNorm samples, so the result must differ from untiled
        Assert.True(Fixtures.RelativeL2(tiled, untiled) > 1e-4);
    }

    [Fact]
    public void Tiled_encode_is_diffusers_tiled_encode()
    {
        var (vae, data) = Setup();
        var video = data["video"];
        var expected = NaiveTiled(video, 24, 16, 1, 2, vae.EncodeMoments);
        var untiled = vae.EncodeMoments(video);
        vae.Tiling = SmallTiles;
        var tiled = vae.EncodeMoments(video);
        Assert.Equal(untiled.shape, tiled.shape);
        double error = Fixtures.RelativeL2(tiled, expected);
        output.WriteLine($"tiled encode vs naive tiling: {error:E3}; vs untiled: {Fixtures.RelativeL2(tiled, untiled):E3}");
        Assert.True(error <= 1e-12, $"tiled encode differs from the naive tiling by {error:E3}");
        Assert.True(Fixtures.RelativeL2(tiled, untiled) > 1e-4);
    }

    [Fact]
    public void Inputs_within_one_tile_are_not_tiled()
    {
        var (vae, data) = Setup();
        var untiled = vae.Decode(data["z"]);
        vae.Tiling = new CogVideoXVaeTiling(32, 32, 0.25, 0.25);
        Assert.Equal(0.0, Fixtures.RelativeL2(vae.Decode(data["z"]), untiled));
    }

    [Fact]
    public void Default_tiling_is_diffusers_enable_tiling()
    {
        var config = new CogVideoXVaeConfig();
        var tiling = CogVideoXVaeTiling.For(config);
        Assert.Equal(new CogVideoXVaeTiling.Axis(240, 30, 25, 40, 200, 200, 5, 25), tiling.Height(8));
        Assert.Equal(new CogVideoXVaeTiling.Axis(360, 45, 36, 72, 288, 288, 9, 36), tiling.Width(8));
    }

    [Theory]
    [InlineData(16, 1.0 / 6)]  // stride 1 latent pixel but 14 pixels kept: diffusers' output would be 50 pixels wide
    [InlineData(20, 0.2)]      // not a multiple of 8
    [InlineData(24, 1.0)]
    public void Inconsistent_tiling_is_refused(int tile, double overlap)
    {
        var (vae, _) = Setup();
        var e = Assert.Throws<VDiTLensException>(() => vae.Tiling = new CogVideoXVaeTiling(tile, 32, overlap, 0.25));
        Assert.Contains("Height", e.Message);
    }
}
