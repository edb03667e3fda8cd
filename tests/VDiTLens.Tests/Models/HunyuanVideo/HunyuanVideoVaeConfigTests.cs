using System.Text.Json.Nodes;
using VDiTLens.IO;
using VDiTLens.Models.HunyuanVideo.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Models.HunyuanVideo;

public sealed class HunyuanVideoVaeConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hyvae").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ModelFolder FolderWith(Action<JsonObject> edit, bool withWeights = false)
    {
        var config = ModelFolder.ReadJsonObject(Fixtures.Path("hunyuan_video_vae", "config.json"));
        edit(config);
        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJsonString());
        if (withWeights)
            File.Copy(Fixtures.Path("hunyuan_video_vae", "diffusion_pytorch_model.safetensors"), Path.Combine(_dir, "diffusion_pytorch_model.safetensors"), overwrite: true);
        return ModelFolder.Open(_dir);
    }

    [Fact]
    public void Reads_the_fixture_config_and_places_the_resampling_as_diffusers()
    {
        var c = HunyuanVideoVaeConfig.Read(ModelFolder.Open(Fixtures.Path("hunyuan_video_vae")));
        Assert.Equal(new[] { 16, 32, 32, 32 }, c.block_out_channels);
        Assert.Equal(4, c.latent_channels);
        Assert.Equal(0.476986, c.scaling_factor);
        // 8× space in blocks 0–2, 4× time in blocks 1–2 (not the last).
        Assert.Equal(new[] { true, true, true, false }, Enumerable.Range(0, 4).Select(c.SpatialResample));
        Assert.Equal(new[] { false, true, true, false }, Enumerable.Range(0, 4).Select(c.TemporalResample));
    }

    [Theory]
    [InlineData("down_block_types", "[\"DownEncoderBlock2D\",\"HunyuanVideoDownBlock3D\",\"HunyuanVideoDownBlock3D\",\"HunyuanVideoDownBlock3D\"]")]
    [InlineData("up_block_types", "[\"HunyuanVideoUpBlock3D\"]")]
    [InlineData("temporal_compression_ratio", "8")]
    [InlineData("spatial_compression_ratio", "6")]
    [InlineData("spatial_compression_ratio", "32")]
    [InlineData("act_fn", "\"gelu\"")]
    [InlineData("norm_num_groups", "5")]
    [InlineData("block_out_channels", "\"wide\"")]
    public void Unsupported_values_are_refused_naming_the_field(string field, string value)
    {
        var folder = FolderWith(c => c[field] = JsonNode.Parse(value));
        var e = Assert.Throws<VDiTLensException>(() => HunyuanVideoVaeConfig.Read(folder));
        Assert.Contains($"'{field}'", e.Message);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_config_are_all_reported_at_once()
    {
        TorchSharpInit();
        var folder = FolderWith(c => { c["mid_block_add_attention"] = false; c["latent_channels"] = 8; }, withWeights: true);
        var e = Assert.Throws<VDiTLensException>(() => HunyuanVideoVae.Load(folder, ComputeOptions.Cpu32));
        Assert.Contains("20 unexpected: ", e.Message); // group_norm, to_q, to_k, to_v, to_out.0 weight and bias, in both mid blocks
        Assert.Contains("mid_block.attentions.0.to_q.weight", e.Message);
        Assert.Contains("post_quant_conv.weight expected [8, 8, 1, 1, 1] found [4, 4, 1, 1, 1]", e.Message);
    }

    private static void TorchSharpInit() => TorchRuntime.Initialise();
}
