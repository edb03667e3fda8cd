using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.CogVideoX.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Models.CogVideoX;

public sealed class CogVideoXVaeConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cogvae").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ModelFolder FolderWith(Action<JsonObject> edit, bool withWeights = false)
    {
        var config = ModelFolder.ReadJsonObject(Fixtures.Path("cogvideox_vae", "config.json"));
        edit(config);
        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJsonString());
        if (withWeights)
            File.Copy(Fixtures.Path("cogvideox_vae", "diffusion_pytorch_model.safetensors"), Path.Combine(_dir, "diffusion_pytorch_model.safetensors"));
        return ModelFolder.Open(_dir);
    }

    [Fact]
    public void Reads_the_fixture_config()
    {
        var c = CogVideoXVaeConfig.Read(ModelFolder.Open(Fixtures.Path("cogvideox_vae")));
        Assert.Equal(new[] { 16, 32, 32, 32 }, c.block_out_channels);
        Assert.Equal(4, c.latent_channels);
        Assert.Equal(1, c.layers_per_block);
        Assert.Equal(8, c.norm_num_groups);
        Assert.Null(c.shift_factor);
        Assert.Equal(1.15258426, c.scaling_factor);
        Assert.Equal(2, c.TemporalLevels);
        Assert.Equal(4, c.TemporalScale);
        Assert.Equal(8, c.SpatialScale);
    }

    [Fact]
    public void Defaults_are_the_released_checkpoints()
    {
        var c = CogVideoXVaeConfig.Read(FolderWith(c => c.Clear()));
        Assert.Equal(new[] { 128, 256, 256, 512 }, c.block_out_channels);
        Assert.Equal(16, c.latent_channels);
        Assert.Equal(3, c.layers_per_block);
        Assert.Equal(32, c.norm_num_groups);
    }

    [Theory]
    [InlineData("use_quant_conv", "true")]
    [InlineData("use_post_quant_conv", "true")]
    [InlineData("act_fn", "\"gelu\"")]
    [InlineData("temporal_compression_ratio", "3")]
    [InlineData("temporal_compression_ratio", "16")]
    [InlineData("norm_num_groups", "5")]
    [InlineData("down_block_types", "[\"DownEncoderBlock2D\",\"CogVideoXDownBlock3D\",\"CogVideoXDownBlock3D\",\"CogVideoXDownBlock3D\"]")]
    [InlineData("up_block_types", "[\"CogVideoXUpBlock3D\"]")]
    [InlineData("latent_channels", "\"four\"")]
    public void Rejects_unsupported_values_naming_the_field(string field, string value)
    {
        var folder = FolderWith(c => c[field] = JsonNode.Parse(value));
        var e = Assert.Throws<VDiTLensException>(() => CogVideoXVaeConfig.Read(folder));
        Assert.Contains($"'{field}'", e.Message);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_config_are_all_reported()
    {
        TorchRuntime.Initialise();
        var folder = FolderWith(c => c["layers_per_block"] = 2, withWeights: true);
        var e = Assert.Throws<VDiTLensException>(() => CogVideoXVae.Load(folder, new ComputeOptions(torch.CPU, torch.ScalarType.Float32, 0)));
        Assert.Contains("missing", e.Message);
        Assert.Contains("encoder.down_blocks.0.resnets.1.conv1.conv.weight", e.Message);
        Assert.Contains("more)", e.Message); // the extra decoder resnets too, summarised after the first 12 names
    }

    [Theory]
    [InlineData(5, 2, "0+3 3+2")]
    [InlineData(13, 2, "0+3 3+2 5+2 7+2 9+2 11+2")]
    [InlineData(12, 2, "0+2 2+2 4+2 6+2 8+2 10+2")]
    [InlineData(1, 2, "0+1")]
    [InlineData(17, 8, "0+9 9+8")]
    [InlineData(49, 8, "0+9 9+8 17+8 25+8 33+8 41+8")]
    [InlineData(5, 8, "0+5")]
    public void Frame_batches_follow_diffusers(long frames, int size, string expected)
    {
        var batches = CogVideoXFrameBatches.Split(frames, size);
        Assert.Equal(expected, string.Join(" ", batches.Select(b => $"{b.Start}+{b.Length}")));
    }

    [Fact]
    public void Batch_sizes_below_one_are_refused()
    {
        var vae = new CogVideoXVae(CogVideoXVaeConfig.Read(ModelFolder.Open(Fixtures.Path("cogvideox_vae"))), torch.CPU, torch.ScalarType.Float32);
        Assert.Throws<VDiTLensException>(() => vae.LatentFramesPerBatch = 0);
        Assert.Throws<VDiTLensException>(() => vae.SampleFramesPerBatch = -1);
    }
}
