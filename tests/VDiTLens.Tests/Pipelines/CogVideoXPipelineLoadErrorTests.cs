using VDiTLens.Pipelines;
using VDiTLens.Runtime;

namespace VDiTLens.Tests.Pipelines;

/// <summary>Broken CogVideoXPipeline folders fail with a message naming the file or component and field.</summary>
public sealed class CogVideoXPipelineLoadErrorTests
{
    private static VDiTLensException Fails(TinyCogVideoXFolder folder)
    {
        TorchRuntime.Initialise();
        return Assert.Throws<VDiTLensException>(() => CogVideoXPipeline.CreateRandom(folder.Path, ComputeOptions.Cpu32).Dispose());
    }

    [Fact]
    public void Other_pipeline_class_is_refused()
    {
        using var f = new TinyCogVideoXFolder();
        f.Edit("model_index.json", j => j["_class_name"] = "CogVideoXImageToVideoPipeline");
        Assert.Contains("_class_name 'CogVideoXImageToVideoPipeline' is not CogVideoXPipeline", Fails(f).Message);
    }

    [Fact]
    public void Missing_vae_is_named()
    {
        using var f = new TinyCogVideoXFolder();
        f.Edit("model_index.json", j => j.Remove("vae"));
        Assert.Contains("component 'vae' is missing", Fails(f).Message);
    }

    [Fact]
    public void Wrong_scheduler_is_named_with_the_supported_ones()
    {
        using var f = new TinyCogVideoXFolder();
        f.Edit("scheduler/scheduler_config.json", j => j["_class_name"] = "UniPCMultistepScheduler");
        var e = Fails(f);
        Assert.Contains("scheduler_config.json", e.Message);
        Assert.Contains("CogVideoXDDIMScheduler, CogVideoXDPMScheduler", e.Message);
    }

    [Fact]
    public void Wrong_vae_class_is_named()
    {
        using var f = new TinyCogVideoXFolder();
        f.Edit("vae/config.json", j => j["_class_name"] = "AutoencoderKLWan");
        Assert.Contains("component 'vae' (supported: AutoencoderKLCogVideoX)", Fails(f).Message);
    }

    [Fact]
    public void Text_width_mismatch_names_both_fields()
    {
        using var f = new TinyCogVideoXFolder();
        f.Edit("text_encoder/config.json", j => j["d_model"] = 16);
        var e = Fails(f);
        Assert.Contains("d_model = 16", e.Message);
        Assert.Contains("text_embed_dim = 12", e.Message);
    }

    [Fact]
    public void Latent_channel_mismatch_names_both_fields()
    {
        using var f = new TinyCogVideoXFolder();
        f.Edit("vae/config.json", j => j["latent_channels"] = 8);
        var e = Fails(f);
        Assert.Contains("latent_channels = 8", e.Message);
        Assert.Contains("in_channels = 4", e.Message);
    }
}
