using VDiTLens.Attention;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi.Vae;

/// <summary>
/// diffusers' MochiEncoder3D: Fourier features, per-voxel Linear proj_in, block_in, down blocks (time and space
/// reduced by convolution), block_out, norm, SiLU, per-voxel Linear proj_out (no bias) to mean ‖ log-variance.
/// </summary>
public sealed class MochiVaeEncoder : nn.Module
{
    public Linear proj_in;
    public MochiVaeMidBlock block_in;
    public ModuleList<MochiVaeDownBlock> down_blocks;
    public MochiVaeMidBlock block_out;
    public MochiChunkedGroupNorm3D norm_out;
    public Linear proj_out;

    public IEnumerable<AttentionSite> Sites =>
        block_in.attentions.Concat(down_blocks.SelectMany(b => b.attentions)).Concat(block_out.attentions).Select(a => a.Site);

    public MochiVaeEncoder(MochiVaeConfig c, AttentionSeam seam, Device device, ScalarType dtype) : base("MochiEncoder3D")
    {
        var channels = c.encoder_block_out_channels;
        var layers = c.layers_per_block;
        register_module("proj_in", proj_in = nn.Linear(c.in_channels, channels[0], device: device, dtype: dtype));
        register_module("block_in", block_in = new MochiVaeMidBlock(channels[0], layers[0], c.add_attention_block[0], seam, "encoder.block_in", device, dtype));
        down_blocks = new ModuleList<MochiVaeDownBlock>();
        for (int i = 0; i < channels.Length - 1; i++)
            down_blocks.Add(new MochiVaeDownBlock(channels[i], channels[i + 1], layers[i + 1], c.temporal_expansions[i],
                c.spatial_expansions[i], c.add_attention_block[i + 1], seam, $"encoder.down_blocks.{i}", device, dtype));
        register_module("down_blocks", down_blocks);
        register_module("block_out", block_out = new MochiVaeMidBlock(channels[^1], layers[^1], c.add_attention_block[^1], seam, "encoder.block_out", device, dtype));
        register_module("norm_out", norm_out = new MochiChunkedGroupNorm3D(channels[^1], device, dtype));
        register_module("proj_out", proj_out = nn.Linear(channels[^1], 2 * c.latent_channels, hasBias: false, device: device, dtype: dtype));
    }

    /// <summary>Video [B, C, T, H, W] → moments [B, 2·latent_channels, T', H', W'] (one shot, replicate padding).</summary>
    /// <param name="video">In any floating dtype: the Fourier features are taken from it in float32 before the cast to
    /// the model dtype. (diffusers needs the video in the model dtype, so a bfloat16 model sees the video rounded to
    /// bfloat16 first, and sin(2π·128·x) of a rounded x is off by up to a few radians.)</param>
    public Tensor Forward(Tensor video)
    {
        using var scope = torch.NewDisposeScope();
        var h = PerVoxel(proj_in, MochiFourierFeatures.Apply(video, proj_in.weight!.dtype));
        h = block_in.Forward(h, null);
        foreach (var down in down_blocks) h = down.Forward(h, null);
        h = block_out.Forward(h, null);
        h = PerVoxel(proj_out, nn.functional.silu(norm_out.forward(h)));
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>A Linear over the channel axis of [B, C, T, H, W].</summary>
    internal static Tensor PerVoxel(Linear linear, Tensor x) => linear.forward(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3);
}
