using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// diffusers' WanDecoder3d: conv_in from z_dim, mid block, up blocks (Wan2.1: each upsampler halves the channels, so
/// blocks after the first take half their nominal input; Wan2.2, <c>is_residual</c>: <see cref="WanVaeResidualUpBlock"/>s
/// that keep them), RMS norm + SiLU, conv_out to RGB (Wan2.2: to RGB patches).
/// </summary>
public sealed class WanVaeDecoder : nn.Module, IWanCausalLayer
{
    public WanCausalConv3d conv_in;
    public WanVaeMidBlock mid_block;
    public ModuleList<nn.Module> up_blocks;
    public WanVaeRmsNorm norm_out;
    public WanCausalConv3d conv_out;

    public WanVaeDecoder(WanVaeConfig c, AttentionSeam seam, Device device, ScalarType dtype) : base("WanDecoder3d")
    {
        var mult = new[] { c.dim_mult[^1] }.Concat(c.dim_mult.Reverse()).ToArray();
        long[] dims = mult.Select(m => (long)c.DecoderDim * m).ToArray();
        bool[] temporal = c.TemporalUpsample;
        register_module("conv_in", conv_in = WanCausalConv3d.Cube(c.z_dim, dims[0], 3, 1, device, dtype));
        register_module("mid_block", mid_block = new WanVaeMidBlock(dims[0], "decoder.mid_block", seam, device, dtype));
        up_blocks = new ModuleList<nn.Module>();
        for (int i = 0; i < c.dim_mult.Length; i++)
        {
            bool up = i != c.dim_mult.Length - 1;
            if (c.is_residual)
            {
                up_blocks.Add(new WanVaeResidualUpBlock(dims[i], dims[i + 1], c.num_res_blocks, up && temporal[i], up, device, dtype));
                continue;
            }
            long inDim = i > 0 ? dims[i] / 2 : dims[i];
            WanResampleMode? mode = !up ? null : temporal[i] ? WanResampleMode.Upsample3d : WanResampleMode.Upsample2d;
            up_blocks.Add(new WanVaeUpBlock(inDim, dims[i + 1], c.num_res_blocks, mode, device, dtype));
        }
        register_module("up_blocks", up_blocks);
        register_module("norm_out", norm_out = new WanVaeRmsNorm(dims[^1], images: false, device, dtype));
        register_module("conv_out", conv_out = WanCausalConv3d.Cube(dims[^1], c.out_channels, 3, 1, device, dtype));
    }

    public IEnumerable<AttentionSite> Sites => mid_block.attentions.Select(a => a.Site);

    public Tensor Forward(Tensor x, WanCausalCache cache)
    {
        using var scope = torch.NewDisposeScope();
        x = conv_in.Forward(x, cache);
        x = mid_block.Forward(x, cache);
        foreach (var block in up_blocks) x = ((IWanCausalLayer)block).Forward(x, cache);
        x = conv_out.Forward(nn.functional.silu(norm_out.forward(x)), cache);
        return x.MoveToOuterDisposeScope();
    }
}
