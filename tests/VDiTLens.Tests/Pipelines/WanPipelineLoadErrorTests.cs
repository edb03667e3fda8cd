using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;

namespace VDiTLens.Tests.Pipelines;

/// <summary>Broken pipeline folders fail with a message naming the file or component and field.</summary>
public sealed class WanPipelineLoadErrorTests
{
    private static VDiTLensException LoadFails(string path)
    {
        TorchRuntime.Initialise();
        return Assert.Throws<VDiTLensException>(() => WanPipeline.Load(path, ComputeOptions.Cpu32).Dispose());
    }

    [Fact]
    public void Missing_folder_is_named()
    {
        var e = LoadFails("/nonexistent/pipeline");
        Assert.Contains("/nonexistent/pipeline", e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void Missing_component_entry_names_the_component()
    {
        using var p = new TempPipeline();
        p.EditJson("model_index.json", j => j.Remove("text_encoder"));
        var e = LoadFails(p.Path);
        Assert.Contains("component 'text_encoder' is missing", e.Message);
        Assert.Contains("model_index.json", e.Message);
    }

    [Fact]
    public void Missing_component_folder_names_the_folder()
    {
        using var p = new TempPipeline();
        Directory.Delete(p.File("scheduler"), recursive: true);
        var e = LoadFails(p.Path);
        Assert.Contains("'scheduler/' is missing", e.Message);
    }

    [Fact]
    public void Unknown_scheduler_class_is_refused()
    {
        using var p = new TempPipeline();
        p.EditJson("scheduler/scheduler_config.json", j => j["_class_name"] = "EulerAncestralDiscreteScheduler");
        var e = LoadFails(p.Path);
        Assert.Contains("scheduler_config.json", e.Message);
        Assert.Contains("EulerAncestralDiscreteScheduler", e.Message);
        Assert.Contains("UniPCMultistepScheduler", e.Message);
    }

    [Fact]
    public void Unknown_transformer_class_is_refused()
    {
        using var p = new TempPipeline();
        p.EditJson("model_index.json", j => j["transformer"] = new JsonArray("diffusers", "CogVideoXTransformer3DModel"));
        var e = LoadFails(p.Path);
        Assert.Contains("'transformer' has class 'CogVideoXTransformer3DModel'", e.Message);
    }

    [Fact]
    public void Unknown_pipeline_class_is_refused()
    {
        using var p = new TempPipeline();
        p.EditJson("model_index.json", j => j["_class_name"] = "WanVideoToVideoPipeline");
        var e = LoadFails(p.Path);
        Assert.Contains("_class_name 'WanVideoToVideoPipeline'", e.Message);
    }

    [Fact]
    public void Text_width_mismatch_names_both_fields()
    {
        using var p = new TempPipeline();
        p.EditJson("transformer/config.json", j => j["text_dim"] = 64);
        var e = LoadFails(p.Path);
        Assert.Contains("text_encoder/config.json d_model = 32", e.Message);
        Assert.Contains("transformer/config.json text_dim = 64", e.Message);
    }

    [Theory]
    [InlineData("in_channels")]
    [InlineData("out_channels")]
    public void Latent_channel_mismatch_names_both_fields(string field)
    {
        using var p = new TempPipeline();
        p.EditJson("transformer/config.json", j => j[field] = 8);
        var e = LoadFails(p.Path);
        Assert.Contains("vae/config.json z_dim = 4", e.Message);
        Assert.Contains($"transformer/config.json {field} = 8", e.Message);
    }

    [Fact]
    public void Pipeline_without_vae_needs_rgb_transformer()
    {
        using var p = new TempPipeline();
        p.EditJson("model_index.json", j => j["vae"] = null);
        var e = LoadFails(p.Path);
        Assert.Contains("in_channels = 4", e.Message);
        Assert.Contains("needs 3 and 3", e.Message);
    }

    [Fact]
    public void Tokenizer_larger_than_the_embedding_is_refused()
    {
        using var p = new TempPipeline();
        p.EditJson("text_encoder/config.json", j => j["vocab_size"] = 100);
        var e = LoadFails(p.Path);
        Assert.Contains("150 ids", e.Message);
        Assert.Contains("vocab_size = 100", e.Message);
    }
}
