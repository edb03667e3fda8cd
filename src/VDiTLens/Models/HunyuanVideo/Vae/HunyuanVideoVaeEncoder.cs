using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo.Vae;

/// <summary>diffusers' HunyuanVideoEncoder3D: conv_in, down blocks, mid block, GroupNorm + SiLU, conv_out to 2·latent_channels.</summary>
public sealed class HunyuanVideoVaeEncoder : nn.Module<Tensor, Tensor>
{
    public HunyuanVideoCausalConv3d conv_in;
    public ModuleList<HunyuanVideoDownBlock> down_blocks;
    public HunyuanVideoVaeMidBlock mid_block;
    public GroupNorm conv_norm_out;
    public HunyuanVideoCausalConv3d conv_out;

    public HunyuanVideoVaeEncoder(HunyuanVideoVaeConfig c, AttentionSeam seam, Device device, ScalarType dtype) : base("HunyuanVideoEncoder3D")
    {
        var channels = c.block_out_channels;
        int groups = c.norm_num_groups;
        register_module("conv_in", conv_in = new HunyuanVideoCausalConv3d(c.in_channels, channels[0], 3, device, dtype));
        down_blocks = new ModuleList<HunyuanVideoDownBlock>();
        for (int i = 0; i < channels.Length; i++)
        {
            bool spatial = c.SpatialResample(i), temporal = c.TemporalResample(i);
            (long, long, long)? stride = spatial || temporal ? (temporal ? 2 : 1, spatial ? 2 : 1, spatial ? 2 : 1) : null;
            down_blocks.Add(new HunyuanVideoDownBlock(channels[Math.Max(i - 1, 0)], channels[i], c.layers_per_block, groups, stride, device, dtype));
        }
        register_module("down_blocks", down_blocks);
        register_module("mid_block", mid_block = new HunyuanVideoVaeMidBlock(channels[^1], groups, c.mid_block_add_attention, "encoder.mid_block", seam, device, dtype));
        register_module("conv_norm_out", conv_norm_out = nn.GroupNorm(groups, channels[^1], HunyuanVideoResnetBlock.Eps, affine: true, device: device, dtype: dtype));
        register_module("conv_out", conv_out = new HunyuanVideoCausalConv3d(channels[^1], 2 * c.latent_channels, 3, device, dtype));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        x = conv_in.forward(x);
        foreach (var block in down_blocks) x = block.forward(x);
        x = mid_block.forward(x);
        return conv_out.forward(nn.functional.silu(conv_norm_out.forward(x))).MoveToOuterDisposeScope();
    }
}
