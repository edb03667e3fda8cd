using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Mochi.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Models.Mochi;

public sealed class MochiVaeConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mochivae").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ModelFolder FolderWith(Action<JsonObject> edit, bool withWeights = false)
    {
        var config = ModelFolder.ReadJsonObject(Fixtures.Path("mochi_vae", "config.json"));
        edit(config);
        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJsonString());
        if (withWeights)
            File.Copy(Fixtures.Path("mochi_vae", "diffusion_pytorch_model.safetensors"), Path.Combine(_dir, "diffusion_pytorch_model.safetensors"), overwrite: true);
        return ModelFolder.Open(_dir);
    }

    [Fact]
    public void Reads_the_fixture_config()
    {
        var c = MochiVaeConfig.Read(ModelFolder.Open(Fixtures.Path("mochi_vae")));
        Assert.Equal(new[] { 32, 32, 64, 64 }, c.encoder_block_out_channels);
        Assert.Equal(4, c.latent_channels);
        Assert.Equal(new[] { 1, 2, 3 }, c.temporal_expansions);
        Assert.Equal(new[] { false, true, true, true, true }, c.add_attention_block);
        Assert.Equal(3, c.VideoChannels);
        Assert.Equal(6, c.TemporalScale);
        Assert.Equal(8, c.SpatialScale);
    }

    [Fact]
    public void Defaults_are_the_mochi_1_preview_vae()
    {
        var c = MochiVaeConfig.Read(FolderWith(j =>
        {
            foreach (var key in j.Select(kv => kv.Key).Where(k => !k.StartsWith('_')).ToList()) j.Remove(key);
        }));
        Assert.Equal(12, c.latent_channels);
        Assert.Equal(new[] { 128, 256, 512, 768 }, c.decoder_block_out_channels);
        Assert.Equal(1.3720942357788521, c.latents_std[7]);
    }

    [Theory]
    [InlineData("act_fn", "\"gelu\"")]
    [InlineData("_class_name", "\"AutoencoderKLCogVideoX\"")]
    [InlineData("latents_mean", "[0.0, 1.0]")]
    [InlineData("latents_std", "[1.0]")]
    [InlineData("temporal_expansions", "[1, 2]")]
    [InlineData("spatial_expansions", "[2, 2, 2, 2]")]
    [InlineData("add_attention_block", "[true, true]")]
    [InlineData("encoder_block_out_channels", "[32, 32, 64]")]
    [InlineData("decoder_block_out_channels", "[32, 32, 64, 48]")]
    [InlineData("in_channels", "16")]
    [InlineData("scaling_factor", "0")]
    [InlineData("layers_per_block", "\"three\"")]
    public void Rejects_unsupported_values_naming_the_field(string field, string value)
    {
        var folder = FolderWith(c => c[field] = JsonNode.Parse(value));
        var e = Assert.Throws<VDiTLensException>(() => MochiVaeConfig.Read(folder));
        Assert.Contains($"'{field}'", e.Message);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_config_are_reported_together()
    {
        // a second layer in block_in and block_out (both sides) and no attention in block_out: missing and unexpected at once
        var folder = FolderWith(c =>
        {
            c["layers_per_block"] = new JsonArray(2, 1, 1, 1, 2);
            c["add_attention_block"] = new JsonArray(false, true, true, true, false);
        }, withWeights: true);
        var e = Assert.Throws<VDiTLensException>(() => MochiVae.Load(folder, ComputeOptions.Cpu32));
        Assert.Contains("32 missing", e.Message);
        Assert.Contains("encoder.block_in.resnets.1.conv1.conv.weight", e.Message);
        Assert.Contains("7 unexpected", e.Message);
        Assert.Contains("encoder.block_out.attentions.0.to_q.weight", e.Message);
    }

    [Fact]
    public void Weights_of_another_width_are_reported_as_mis_shaped()
    {
        var folder = FolderWith(c =>
        {
            c["latent_channels"] = 8;
            c["latents_mean"] = new JsonArray(Enumerable.Repeat(0.0, 8).Select(v => (JsonNode?)v).ToArray());
            c["latents_std"] = new JsonArray(Enumerable.Repeat(1.0, 8).Select(v => (JsonNode?)v).ToArray());
        }, withWeights: true);
        var e = Assert.Throws<VDiTLensException>(() => MochiVae.Load(folder, ComputeOptions.Cpu32));
        Assert.Contains("mis-shaped", e.Message);
        Assert.Contains("decoder.conv_in.weight", e.Message);
        Assert.Contains("encoder.proj_out.weight", e.Message);
    }
}
