using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// diffusers' WanDecoder3d (Wan2.1 layout): conv_in from z_dim, mid block, up blocks (each upsampler halves the
/// channels, so blocks after the first take half their nominal input), RMS norm + SiLU, conv_out to RGB.
/// </summary>
public sealed class WanVaeDecoder : nn.Module, IWanCausalLayer
{
    public WanCausalConv3d conv_in;
    public WanVaeMidBlock mid_block;
    public ModuleList<WanVaeUpBlock> up_blocks;
    public WanVaeRmsNorm norm_out;
    public WanCausalConv3d conv_out;

    public WanVaeDecoder(WanVaeConfig c, AttentionSeam seam, Device device, ScalarType dtype) : base("WanDecoder3d")
    {
        var mult = new[] { c.dim_mult[^1] }.Concat(c.dim_mult.Reverse()).ToArray();
        long[] dims = mult.Select(m => (long)c.DecoderDim * m).ToArray();
        bool[] temporal = c.TemporalUpsample;
        register_module("conv_in", conv_in = WanCausalConv3d.Cube(c.z_dim, dims[0], 3, 1, device, dtype));
        register_module("mid_block", mid_block = new WanVaeMidBlock(dims[0], "decoder.mid_block", seam, device, dtype));
        up_blocks = new ModuleList<WanVaeUpBlock>();
        for (int i = 0; i < c.dim_mult.Length; i++)
        {
            long inDim = i > 0 ? dims[i] / 2 : dims[i];
            bool up = i != c.dim_mult.Length - 1;
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
        foreach (var block in up_blocks) x = block.Forward(x, cache);
        x = conv_out.Forward(nn.functional.silu(norm_out.forward(x)), cache);
        return x.MoveToOuterDisposeScope();
    }
}
