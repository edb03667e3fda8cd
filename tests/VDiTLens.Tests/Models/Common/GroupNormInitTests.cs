using TorchSharp;
using VDiTLens.Models.CogVideoX.Vae;
using VDiTLens.Models.HunyuanVideo.Vae;
using VDiTLens.Models.Mochi.Vae;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Common;

/// <summary>Every VAE that builds nn.GroupNorm starts with PyTorch's affine init (weight 1, bias 0), not TorchSharp's uninitialised memory.</summary>
public sealed class GroupNormInitTests
{
    [Theory]
    [InlineData("cogvideox")]
    [InlineData("mochi")]
    [InlineData("hunyuan")]
    public void A_new_vae_has_pytorch_group_norm_init(string family)
    {
        TorchRuntime.Initialise();
        using var vae = Build(family);
        var norms = vae.modules().OfType<TorchSharp.Modules.GroupNorm>().ToList();
        Assert.NotEmpty(norms);
        foreach (var norm in norms)
        {
            Assert.True(norm.weight!.eq(1).all().item<bool>(), $"{family}: a group norm weight is not 1");
            Assert.True(norm.bias!.eq(0).all().item<bool>(), $"{family}: a group norm bias is not 0");
        }
    }

    private static nn.Module Build(string family) => family switch
    {
        "cogvideox" => new CogVideoXVae(new CogVideoXVaeConfig { block_out_channels = new[] { 16, 32 }, norm_num_groups = 8, layers_per_block = 1 },
            CPU, ScalarType.Float32),
        "mochi" => new MochiVae(new MochiVaeConfig
        {
            latent_channels = 2, latents_mean = new[] { 0.5, -1.0 }, latents_std = new[] { 2.0, 0.25 }, scaling_factor = 4.0,
            encoder_block_out_channels = new[] { 32, 32 }, decoder_block_out_channels = new[] { 32, 32 }, layers_per_block = new[] { 0, 0, 0 },
            temporal_expansions = new[] { 1 }, spatial_expansions = new[] { 1 }, add_attention_block = new[] { false, false, false },
        }, CPU, ScalarType.Float32),
        "hunyuan" => new HunyuanVideoVae(new HunyuanVideoVaeConfig
        {
            block_out_channels = new[] { 8, 8, 8 }, norm_num_groups = 4, layers_per_block = 1, latent_channels = 4,
            down_block_types = Enumerable.Repeat(HunyuanVideoVaeConfig.DownBlockType, 3).ToArray(),
            up_block_types = Enumerable.Repeat(HunyuanVideoVaeConfig.UpBlockType, 3).ToArray(),
            spatial_compression_ratio = 4,
        }, CPU, ScalarType.Float32),
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };
}
