using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo.Vae;

/// <summary>
/// diffusers' HunyuanVideoDecoder3D: conv_in, mid block, up blocks (layers_per_block + 1 resnets each, channels in
/// reverse), GroupNorm + SiLU, conv_out.
/// </summary>
public sealed class HunyuanVideoVaeDecoder : nn.Module<Tensor, Tensor>
{
    public HunyuanVideoCausalConv3d conv_in;
    public HunyuanVideoVaeMidBlock mid_block;
    public ModuleList<HunyuanVideoUpBlock> up_blocks;
    public GroupNorm conv_norm_out;
    public HunyuanVideoCausalConv3d conv_out;

    public HunyuanVideoVaeDecoder(HunyuanVideoVaeConfig c, AttentionSeam seam, Device device, ScalarType dtype) : base("HunyuanVideoDecoder3D")
    {
        var reversed = c.block_out_channels.Reverse().ToArray();
        int groups = c.norm_num_groups;
        register_module("conv_in", conv_in = new HunyuanVideoCausalConv3d(c.latent_channels, reversed[0], 3, device, dtype));
        register_module("mid_block", mid_block = new HunyuanVideoVaeMidBlock(reversed[0], groups, c.mid_block_add_attention, "decoder.mid_block", seam, device, dtype));
        up_blocks = new ModuleList<HunyuanVideoUpBlock>();
        for (int i = 0; i < reversed.Length; i++)
        {
            bool spatial = c.SpatialResample(i), temporal = c.TemporalResample(i);
            (long, long, long)? factor = spatial || temporal ? (temporal ? 2 : 1, spatial ? 2 : 1, spatial ? 2 : 1) : null;
            up_blocks.Add(new HunyuanVideoUpBlock(reversed[Math.Max(i - 1, 0)], reversed[i], c.layers_per_block + 1, groups, factor, device, dtype));
        }
        register_module("up_blocks", up_blocks);
        register_module("conv_norm_out", conv_norm_out = nn.GroupNorm(groups, reversed[^1], HunyuanVideoResnetBlock.Eps, affine: true, device: device, dtype: dtype));
        register_module("conv_out", conv_out = new HunyuanVideoCausalConv3d(reversed[^1], c.out_channels, 3, device, dtype));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        x = mid_block.forward(conv_in.forward(x));
        foreach (var block in up_blocks) x = block.forward(x);
        return conv_out.forward(nn.functional.silu(conv_norm_out.forward(x))).MoveToOuterDisposeScope();
    }
}
