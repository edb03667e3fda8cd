using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>
/// diffusers' CogVideoXEncoder3D: conv_in, down blocks (the first log2(temporal_compression_ratio) of them also
/// halve time), mid block, GroupNorm (eps 1e-6) + SiLU, conv_out to 2·latent_channels (mean ‖ log-variance).
/// </summary>
public sealed class CogVideoXEncoder3D : nn.Module
{
    public CogVideoXCausalConv3d conv_in;
    public ModuleList<CogVideoXDownBlock3D> down_blocks;
    public CogVideoXMidBlock3D mid_block;
    public GroupNorm norm_out;
    public CogVideoXCausalConv3d conv_out;

    public CogVideoXEncoder3D(CogVideoXVaeConfig c, Device device, ScalarType dtype) : base("CogVideoXEncoder3D")
    {
        int[] channels = c.block_out_channels;
        register_module("conv_in", conv_in = new CogVideoXCausalConv3d(c.in_channels, channels[0], 3, device, dtype));
        down_blocks = new ModuleList<CogVideoXDownBlock3D>();
        for (int i = 0; i < channels.Length; i++)
        {
            long inChannels = i == 0 ? channels[0] : channels[i - 1];
            down_blocks.Add(new CogVideoXDownBlock3D(inChannels, channels[i], c.layers_per_block, c.norm_num_groups, c.norm_eps,
                addDownsample: i != channels.Length - 1, compressTime: i < c.TemporalLevels, device, dtype));
        }
        register_module("down_blocks", down_blocks);
        register_module("mid_block", mid_block = new CogVideoXMidBlock3D(channels[^1], c.norm_num_groups, c.norm_eps, null, device, dtype));
        register_module("norm_out", norm_out = nn.GroupNorm(c.norm_num_groups, channels[^1], eps: 1e-6, affine: true, device: device, dtype: dtype));
        register_module("conv_out", conv_out = new CogVideoXCausalConv3d(channels[^1], 2 * c.latent_channels, 3, device, dtype));
    }

    public Tensor Forward(Tensor x, CogVideoXConvCache cache)
    {
        using var scope = torch.NewDisposeScope();
        x = conv_in.Forward(x, cache);
        foreach (var block in down_blocks) x = block.Forward(x, cache);
        x = mid_block.Forward(x, null, cache);
        x = conv_out.Forward(nn.functional.silu(norm_out.forward(x)), cache);
        return x.MoveToOuterDisposeScope();
    }
}
