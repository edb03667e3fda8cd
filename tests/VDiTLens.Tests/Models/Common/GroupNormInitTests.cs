using TorchSharp;
using VDiTLens.Models.CogVideoX.Vae;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Common;

public sealed class GroupNormInitTests
{
    [Fact]
    public void A_new_cogvideox_vae_has_pytorch_group_norm_init()
    {
        TorchRuntime.Initialise();
        using var vae = new CogVideoXVae(new CogVideoXVaeConfig { block_out_channels = new[] { 16, 32 }, norm_num_groups = 8, layers_per_block = 1 },
            CPU, ScalarType.Float32);
        var norms = vae.modules().OfType<TorchSharp.Modules.GroupNorm>().ToList();
        Assert.NotEmpty(norms);
        foreach (var norm in norms)
        {
            Assert.True(norm.weight!.eq(1).all().item<bool>());
            Assert.True(norm.bias!.eq(0).all().item<bool>());
        }
    }
}
