using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>
/// diffusers' CogVideoXDecoder3D: conv_in, mid block, up blocks (layers_per_block + 1 resnets each; the first
/// log2(temporal_compression_ratio) also double time), spatial norm + SiLU, conv_out. Every norm is conditioned on
/// the batch's latents.
/// </summary>
public sealed class CogVideoXDecoder3D : nn.Module
{
    public CogVideoXCausalConv3d conv_in;
    public CogVideoXMidBlock3D mid_block;
    public ModuleList<CogVideoXUpBlock3D> up_blocks;
    public CogVideoXSpatialNorm3D norm_out;
    public CogVideoXCausalConv3d conv_out;

    public CogVideoXDecoder3D(CogVideoXVaeConfig c, Device device, ScalarType dtype) : base("CogVideoXDecoder3D")
    {
        int[] channels = c.block_out_channels.Reverse().ToArray();
        long zq = c.latent_channels;
        register_module("conv_in", conv_in = new CogVideoXCausalConv3d(zq, channels[0], 3, device, dtype));
        register_module("mid_block", mid_block = new CogVideoXMidBlock3D(channels[0], c.norm_num_groups, c.norm_eps, zq, device, dtype));
        up_blocks = new ModuleList<CogVideoXUpBlock3D>();
        for (int i = 0; i < channels.Length; i++)
        {
            long inChannels = i == 0 ? channels[0] : channels[i - 1];
            up_blocks.Add(new CogVideoXUpBlock3D(inChannels, channels[i], c.layers_per_block + 1, c.norm_num_groups, c.norm_eps, zq,
                addUpsample: i != channels.Length - 1, compressTime: i < c.TemporalLevels, device, dtype));
        }
        register_module("up_blocks", up_blocks);
        register_module("norm_out", norm_out = new CogVideoXSpatialNorm3D(channels[^1], zq, c.norm_num_groups, device, dtype));
        register_module("conv_out", conv_out = new CogVideoXCausalConv3d(channels[^1], c.out_channels, 3, device, dtype));
    }

    /// <param name="z">One batch of latent frames; it is also the spatial norms' conditioning.</param>
    public Tensor Forward(Tensor z, CogVideoXConvCache cache)
    {
        using var scope = torch.NewDisposeScope();
        var x = conv_in.Forward(z, cache);
        x = mid_block.Forward(x, z, cache);
        foreach (var block in up_blocks) x = block.Forward(x, z, cache);
        x = conv_out.Forward(nn.functional.silu(norm_out.Forward(x, z, cache)), cache);
        return x.MoveToOuterDisposeScope();
    }
}
