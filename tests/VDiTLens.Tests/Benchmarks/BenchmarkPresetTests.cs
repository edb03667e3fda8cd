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
    public void Unknown_preset_is_a_clear_error() =>
        Assert.Contains("wan-1.3b", Assert.Throws<VDiTLensException>(() => BenchmarkPreset.ByName("nope")).Message);
}
