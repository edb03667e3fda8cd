using VDiTLens.Benchmarks;
using VDiTLens.Models.CogVideoX;
using VDiTLens.Models.HunyuanVideo;
using VDiTLens.Models.Mochi;
using VDiTLens.Models.Wan;
using VDiTLens.Runtime;

namespace VDiTLens.Tests.Benchmarks;

public sealed class BenchmarkPresetTests
{
    [Fact]
    public void Every_preset_config_is_read_by_its_family_reader()
    {
        TorchRuntime.Initialise();
        foreach (var name in BenchmarkPreset.Names)
        {
            var folder = BenchmarkPreset.ByName(name).ConfigFolder();
            object config = folder.ClassName switch
            {
                "WanTransformer3DModel" => WanConfig.Read(folder),
                "CogVideoXTransformer3DModel" => CogVideoXConfig.Read(folder),
                "MochiTransformer3DModel" => MochiConfig.Read(folder),
                "HunyuanVideoTransformer3DModel" => HunyuanVideoConfig.Read(folder),
                _ => throw new InvalidOperationException(folder.ClassName),
            };
            Assert.NotNull(config);
        }
        Assert.Equal(40, WanConfig.Read(BenchmarkPreset.ByName("wan-14b").ConfigFolder()).num_layers);
    }

    [Fact]
    public void Large_presets_give_inputs_of_the_stated_token_counts_and_channels()
    {
        TorchRuntime.Initialise();
        foreach (var (name, tokens) in new[] { ("wan-14b-720p", 75_600L), ("wan2.2-ti2v-5b", 27_280L), ("hunyuan-13b-720p", 118_800L) })
        {
            var preset = BenchmarkPreset.ByName(name);
            var inputs = preset.Inputs(TorchSharp.torch.CPU, TorchSharp.torch.ScalarType.BFloat16);
            var x = inputs["hidden_states"].shape;
            long channels = preset.ClassName == "WanTransformer3DModel" ? WanConfig.Read(preset.ConfigFolder()).in_channels : HunyuanVideoConfig.Read(preset.ConfigFolder()).in_channels;
            Assert.Equal(channels, x[1]);
            Assert.Equal(tokens, x[2] * (x[3] / 2) * (x[4] / 2));
            foreach (var t in inputs.Values) t.Dispose();
        }
        // TI2V: one timestep per token, the first latent frame's tokens at t = 0 (expand_timesteps)
        var ti2v = BenchmarkPreset.ByName("wan2.2-ti2v-5b").Inputs(TorchSharp.torch.CPU, TorchSharp.torch.ScalarType.BFloat16)["timestep"];
        Assert.Equal(new long[] { 1, 27_280 }, ti2v.shape);
        Assert.Equal(22 * 40, (ti2v == 0).sum().item<long>());
        Assert.Equal(0, ti2v[0, 22 * 40 - 1].item<long>());
        Assert.Equal(999, ti2v[0, 22 * 40].item<long>());
    }

    [Fact]
    public void Unknown_preset_is_a_clear_error() =>
        Assert.Contains("wan-1.3b", Assert.Throws<VDiTLensException>(() => BenchmarkPreset.ByName("nope")).Message);
}
