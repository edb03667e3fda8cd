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

    [Theory]
    [InlineData("is_residual", "true")]
    [InlineData("patch_size", "2")]
    public void Rejects_wan22_variants_naming_the_field(string field, string value)
    {
        var folder = FolderWith(c => c[field] = JsonNode.Parse(value));
        var e = Assert.Throws<VDiTLensException>(() => WanVaeConfig.Read(folder));
        Assert.Contains($"'{field}'", e.Message);
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
