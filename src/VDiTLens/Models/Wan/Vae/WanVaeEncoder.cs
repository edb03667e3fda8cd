using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// diffusers' WanEncoder3d: conv_in, the down blocks (Wan2.1: a flat list of residual / attention / downsampling
/// layers; Wan2.2, <c>is_residual</c>: one <see cref="WanVaeResidualDownBlock"/> per level, no attention), mid block, RMS norm + SiLU, conv_out to 2·z_dim channels (mean ‖ log-variance before quant_conv).
/// </summary>
public sealed class WanVaeEncoder : nn.Module, IWanCausalLayer
{
    public WanCausalConv3d conv_in;
    public ModuleList<nn.Module> down_blocks;
    public WanVaeMidBlock mid_block;
    public WanVaeRmsNorm norm_out;
    public WanCausalConv3d conv_out;

    public WanVaeEncoder(WanVaeConfig c, AttentionSeam seam, Device device, ScalarType dtype) : base("WanEncoder3d")
    {
        long[] dims = new[] { 1 }.Concat(c.dim_mult).Select(m => (long)c.base_dim * m).ToArray();
        register_module("conv_in", conv_in = WanCausalConv3d.Cube(c.in_channels, dims[0], 3, 1, device, dtype));
        down_blocks = new ModuleList<nn.Module>();
        double scale = 1.0;
        for (int i = 0; i < c.dim_mult.Length; i++)
        {
            long inDim = dims[i], outDim = dims[i + 1];
            if (c.is_residual)
            {
                bool down = i != c.dim_mult.Length - 1;
                down_blocks.Add(new WanVaeResidualDownBlock(inDim, outDim, c.num_res_blocks, down && c.temperal_downsample[i], down, device, dtype));
                continue;
            }
            for (int j = 0; j < c.num_res_blocks; j++)
            {
                down_blocks.Add(new WanVaeResidualBlock(inDim, outDim, device, dtype));
                if (c.attn_scales.Contains(scale))
                {
                    string name = $"encoder.down_blocks.{down_blocks.Count}";
                    down_blocks.Add(new WanVaeAttentionBlock(outDim, new AttentionSite(name, down_blocks.Count, AttentionKind.Self, name), seam, device, dtype));
                }
                inDim = outDim;
            }
            if (i != c.dim_mult.Length - 1)
            {
                var mode = c.temperal_downsample[i] ? WanResampleMode.Downsample3d : WanResampleMode.Downsample2d;
                down_blocks.Add(new WanVaeResample(outDim, mode, device, dtype));
                scale /= 2.0;
            }
        }
        register_module("down_blocks", down_blocks);
        long last = dims[^1];
        register_module("mid_block", mid_block = new WanVaeMidBlock(last, "encoder.mid_block", seam, device, dtype));
        register_module("norm_out", norm_out = new WanVaeRmsNorm(last, images: false, device, dtype));
        register_module("conv_out", conv_out = WanCausalConv3d.Cube(last, c.z_dim * 2, 3, 1, device, dtype));
    }

    public IEnumerable<AttentionSite> Sites =>
        down_blocks.OfType<WanVaeAttentionBlock>().Concat(mid_block.attentions).Select(a => a.Site);

    public Tensor Forward(Tensor x, WanCausalCache cache)
    {
        using var scope = torch.NewDisposeScope();
        x = conv_in.Forward(x, cache);
        foreach (var layer in down_blocks)
            x = ((IWanCausalLayer)layer).Forward(x, cache);
        x = mid_block.Forward(x, cache);
        x = conv_out.Forward(nn.functional.silu(norm_out.forward(x)), cache);
        return x.MoveToOuterDisposeScope();
    }
}
