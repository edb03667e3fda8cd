using System.Text.Json.Nodes;
using VDiTLens.IO;
using VDiTLens.Models.HunyuanVideo;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Models.HunyuanVideo;

public sealed class HunyuanVideoConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vditlens-hunyuan-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ModelFolder FolderWith(string field, JsonNode? value)
    {
        var config = ModelFolder.ReadJsonObject(Fixtures.Path("hunyuan_video", "config.json"));
        config[field] = value;
        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJsonString());
        return ModelFolder.Open(_dir);
    }

    [Fact]
    public void Reads_the_fixture_config()
    {
        var c = HunyuanVideoConfig.Read(ModelFolder.Open(Fixtures.Path("hunyuan_video")));
        Assert.Equal(32, c.InnerDim);
        Assert.Equal(128, c.MlpDim);
        Assert.Equal(new[] { 4, 6, 6 }, c.rope_axes_dim);
        Assert.True(c.guidance_embeds);
        Assert.Equal(256.0, c.rope_theta);
    }

    [Theory]
    [InlineData("image_condition_type", "\"token_replace\"")]
    [InlineData("qk_norm", "\"layer_norm\"")]
    [InlineData("rope_axes_dim", "[4, 6, 8]")]
    [InlineData("rope_axes_dim", "[8, 8]")]
    public void Unsupported_variants_fail_naming_the_field(string field, string json)
    {
        var folder = FolderWith(field, JsonNode.Parse(json));
        var e = Assert.Throws<VDiTLensException>(() => HunyuanVideoConfig.Read(folder));
        Assert.Contains($"'{field}'", e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void Latent_concat_image_conditioning_is_the_same_transformer()
    {
        var c = HunyuanVideoConfig.Read(FolderWith("image_condition_type", JsonValue.Create("latent_concat")));
        Assert.Equal("latent_concat", c.image_condition_type);
    }
}
