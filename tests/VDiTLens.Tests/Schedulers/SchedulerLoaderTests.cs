using System.Text.Json.Nodes;
using VDiTLens.Schedulers;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Schedulers;

public sealed class SchedulerLoaderTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("vditlens-sched-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData("flowmatch_euler_wan", typeof(FlowMatchEulerDiscreteScheduler))]
    [InlineData("unipc_wan", typeof(UniPCMultistepScheduler))]
    [InlineData("cogvideox_ddim", typeof(CogVideoXDDIMScheduler))]
    [InlineData("cogvideox_dpm", typeof(CogVideoXDPMScheduler))]
    public void Class_name_selects_the_scheduler(string name, Type expected)
    {
        var folder = Fixtures.Path("schedulers", name);
        Assert.IsType(expected, SchedulerLoader.Load(folder));
        Assert.IsType(expected, SchedulerLoader.Load(Path.Combine(folder, "scheduler_config.json")));
    }

    [Fact]
    public void Pipeline_folder_resolves_to_its_scheduler_component()
    {
        var scheduler = SchedulerLoader.Load(Fixtures.Path("wan_pipeline", "pipeline"));
        var unipc = Assert.IsType<UniPCMultistepScheduler>(scheduler);
        Assert.Equal(3.0, unipc.Config.flow_shift);
    }

    [Fact]
    public void Config_fields_are_read_by_their_diffusers_names()
    {
        var wan = (FlowMatchEulerDiscreteScheduler)SchedulerLoader.Load(Fixtures.Path("schedulers", "flowmatch_euler_wan"));
        var mochi = (FlowMatchEulerDiscreteScheduler)SchedulerLoader.Load(Fixtures.Path("schedulers", "flowmatch_euler_mochi"));
        var ddim = (CogVideoXDDIMScheduler)SchedulerLoader.Load(Fixtures.Path("schedulers", "cogvideox_ddim"));
        Assert.Equal(3.0, wan.Config.shift);
        Assert.True(mochi.Config.invert_sigmas);
        Assert.Equal(("v_prediction", "trailing", 3.0, true), (ddim.Config.prediction_type, ddim.Config.timestep_spacing, ddim.Config.snr_shift_scale, ddim.Config.rescale_betas_zero_snr));
    }

    [Fact]
    public void Unknown_class_is_refused_with_its_name_and_the_supported_ones()
    {
        string folder = WriteConfig("unipc_wan", c => c["_class_name"] = "DPMSolverMultistepScheduler");
        var e = Assert.Throws<VDiTLensException>(() => SchedulerLoader.Load(folder));
        Assert.Contains("DPMSolverMultistepScheduler", e.Message);
        Assert.Contains("UniPCMultistepScheduler", e.Message);
    }

    [Theory]
    [InlineData("unipc_wan", "use_flow_sigmas", false)]
    [InlineData("unipc_wan", "thresholding", true)]
    [InlineData("unipc_wan", "use_karras_sigmas", true)]
    [InlineData("flowmatch_euler_wan", "use_dynamic_shifting", true)]
    [InlineData("flowmatch_euler_wan", "stochastic_sampling", true)]
    public void Unsupported_variant_is_refused_naming_the_field(string name, string field, bool value)
    {
        string folder = WriteConfig(name, c => c[field] = value);
        var e = Assert.Throws<VDiTLensException>(() => SchedulerLoader.Load(folder));
        Assert.Contains($"'{field}'", e.Message);
        Assert.Contains("scheduler_config.json", e.Message);
    }

    [Theory]
    [InlineData("unipc_wan", "prediction_type", "epsilon")]
    [InlineData("unipc_wan", "solver_type", "bh1")]
    [InlineData("cogvideox_ddim", "beta_schedule", "squaredcos_cap_v2")]
    [InlineData("cogvideox_dpm", "prediction_type", "epsilon")]
    public void Unsupported_string_option_is_refused_naming_the_field(string name, string field, string value)
    {
        string folder = WriteConfig(name, c => c[field] = value);
        var e = Assert.Throws<VDiTLensException>(() => SchedulerLoader.Load(folder));
        Assert.Contains($"'{field}'", e.Message);
    }

    [Fact]
    public void Unsupported_solver_order_is_refused_naming_the_field()
    {
        string folder = WriteConfig("unipc_wan", c => c["solver_order"] = 3);
        var e = Assert.Throws<VDiTLensException>(() => SchedulerLoader.Load(folder));
        Assert.Contains("'solver_order'", e.Message);
    }

    [Fact]
    public void Missing_config_names_the_expected_file()
    {
        var e = Assert.Throws<VDiTLensException>(() => SchedulerLoader.Load(_temp));
        Assert.Contains("scheduler_config.json", e.Message);
    }

    private string WriteConfig(string fixture, Action<JsonObject> edit)
    {
        var config = JsonNode.Parse(File.ReadAllText(Fixtures.Path("schedulers", fixture, "scheduler_config.json")))!.AsObject();
        edit(config);
        string folder = Path.Combine(_temp, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "scheduler_config.json"), config.ToJsonString());
        return folder;
    }
}
