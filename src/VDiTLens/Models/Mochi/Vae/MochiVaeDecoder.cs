using VDiTLens.Models.Common;
using VDiTLens.Attention;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi.Vae;

/// <summary>
/// diffusers' MochiDecoder3D: 1×1×1 conv_in, block_in (no attention), up blocks (depth-to-space in time and space),
/// block_out, SiLU, per-voxel Linear proj_out.
/// </summary>
public sealed class MochiVaeDecoder : nn.Module
{
    public Conv3d conv_in;
    public MochiVaeMidBlock block_in;
    public ModuleList<MochiVaeUpBlock> up_blocks;
    public MochiVaeMidBlock block_out;
    public Linear proj_out;

    public MochiVaeDecoder(MochiVaeConfig c, Device device, ScalarType dtype) : base("MochiDecoder3D")
    {
        var channels = c.decoder_block_out_channels;
        var layers = c.layers_per_block;
        int n = channels.Length;
        register_module("conv_in", conv_in = nn.Conv3d(c.latent_channels, channels[^1], 1, device: device, dtype: dtype));
        register_module("block_in", block_in = new MochiVaeMidBlock(channels[^1], layers[^1], attention: false, new AttentionSeam(), "decoder.block_in", device, dtype));
        up_blocks = new ModuleList<MochiVaeUpBlock>();
        for (int i = 0; i < n - 1; i++)
            up_blocks.Add(new MochiVaeUpBlock(channels[n - 1 - i], channels[n - 2 - i], layers[layers.Length - 2 - i],
                c.temporal_expansions[^(i + 1)], c.spatial_expansions[^(i + 1)], device, dtype));
        register_module("up_blocks", up_blocks);
        register_module("block_out", block_out = new MochiVaeMidBlock(channels[0], layers[0], attention: false, new AttentionSeam(), "decoder.block_out", device, dtype));
        register_module("proj_out", proj_out = nn.Linear(channels[0], c.out_channels, device: device, dtype: dtype));
    }

    /// <summary>Latents [B, latent_channels, T, h, w] → video [B, out, T·t, h·s, w·s] before any frame is dropped.</summary>
    /// <param name="cache">Null: one shot, replicate padding. Otherwise: this batch of frames continues the previous one (framewise).</param>
    public Tensor Forward(Tensor z, MochiCausalCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        var h = CpuSafeConvolution.Conv3d(conv_in, z);
        h = block_in.Forward(h, cache);
        foreach (var up in up_blocks) h = up.Forward(h, cache);
        h = block_out.Forward(h, cache);
        h = MochiVaeEncoder.PerVoxel(proj_out, nn.functional.silu(h));
        return h.MoveToOuterDisposeScope();
    }
}
