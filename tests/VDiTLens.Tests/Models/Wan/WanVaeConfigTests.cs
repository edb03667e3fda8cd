using System.Text.Json.Nodes;
using VDiTLens.IO;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Models.Wan;

public sealed class WanVaeConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("wanvae").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ModelFolder FolderWith(Action<JsonObject> edit)
    {
        var config = ModelFolder.ReadJsonObject(Fixtures.Path("wan_vae", "config.json"));
        edit(config);
        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJsonString());
        return ModelFolder.Open(_dir);
    }

    [Fact]
    public void Reads_the_fixture_config()
    {
        var c = WanVaeConfig.Read(ModelFolder.Open(Fixtures.Path("wan_vae")));
        Assert.Equal(8, c.base_dim);
        Assert.Equal(4, c.z_dim);
        Assert.Equal(new[] { false, true, true }, c.temperal_downsample);
        Assert.Equal(new[] { 2.82, 1.45, 1.77, 1.92 }, c.latents_std);
        Assert.Equal(4, c.TemporalScale);
        Assert.Equal(8, c.SpatialScale);
    }

    [Fact]
    public void Reads_the_wan22_layout_with_patchify()
    {
        var folder = FolderWith(c =>
        {
            c["is_residual"] = true;
            c["patch_size"] = 2;
            c["in_channels"] = 12;
            c["out_channels"] = 12;
            c["scale_factor_spatial"] = 16;
        });
        var config = WanVaeConfig.Read(folder);
        Assert.True(config.is_residual);
        Assert.Equal(16, config.SpatialScale);
        Assert.Equal(8, config.DecoderScale);
        Assert.Equal(3, config.VideoInChannels);
        Assert.Equal(3, config.VideoOutChannels);
    }

    [Fact]
    public void Rejects_a_patch_size_that_does_not_divide_the_channels()
    {
        var folder = FolderWith(c => c["patch_size"] = 2);   // in_channels stays 3
        var e = Assert.Throws<VDiTLensException>(() => WanVaeConfig.Read(folder));
        Assert.Contains("'patch_size'", e.Message);
        Assert.Contains("'in_channels' (3)", e.Message);
    }

    [Fact]
    public void Rejects_a_spatial_scale_factor_that_ignores_the_patch_size()
    {
        var folder = FolderWith(c =>
        {
            c["patch_size"] = 2;
            c["in_channels"] = 12;
            c["out_channels"] = 12;
            c["scale_factor_spatial"] = 8;
        });
        var e = Assert.Throws<VDiTLensException>(() => WanVaeConfig.Read(folder));
        Assert.Contains("'scale_factor_spatial' = 8", e.Message);
    }

    [Fact]
    public void Rejects_statistics_of_the_wrong_length()
    {
        var folder = FolderWith(c => c["latents_mean"] = new JsonArray(0.0, 1.0));
        var e = Assert.Throws<VDiTLensException>(() => WanVaeConfig.Read(folder));
        Assert.Contains("'latents_mean'", e.Message);
    }

    [Fact]
    public void Rejects_a_temporal_downsample_list_that_does_not_fit_dim_mult()
    {
        var folder = FolderWith(c => c["temperal_downsample"] = new JsonArray(true, true));
        var e = Assert.Throws<VDiTLensException>(() => WanVaeConfig.Read(folder));
        Assert.Contains("'temperal_downsample'", e.Message);
    }
}
