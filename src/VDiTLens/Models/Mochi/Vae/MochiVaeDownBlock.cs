using VDiTLens.Attention;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi.Vae;

/// <summary>
/// diffusers' MochiDownBlock3D: a causal conv with kernel = stride = (t, s, s) (space-to-depth by convolution),
/// then the mid-block layers at the new width.
/// </summary>
public sealed class MochiVaeDownBlock : nn.Module
{
    public MochiCausalConv3d conv_in;
    public ModuleList<MochiVaeResnetBlock> resnets;
    public ModuleList<MochiChunkedGroupNorm3D> norms;
    public ModuleList<MochiVaeAttention> attentions;

    public MochiVaeDownBlock(long inChannels, long outChannels, int layers, int temporal, int spatial, bool attention,
        AttentionSeam seam, string path, Device device, ScalarType dtype) : base("MochiDownBlock3D")
    {
        var kernel = ((long)temporal, (long)spatial, (long)spatial);
        register_module("conv_in", conv_in = new MochiCausalConv3d(inChannels, outChannels, kernel, kernel, device, dtype));
        (resnets, norms, attentions) = MochiVaeMidBlock.Layers(outChannels, layers, attention, seam, path, device, dtype);
        register_module("resnets", resnets);
        register_module("norms", norms);
        register_module("attentions", attentions);
    }

    public Tensor Forward(Tensor x, MochiCausalCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        // diffusers calls conv_in without its cache (framewise encoding is unsupported there anyway)
        using var fresh = cache is null ? null : new MochiCausalCache();
        var h = conv_in.Forward(x, fresh);
        return MochiVaeMidBlock.Run(resnets, norms, attentions, h, cache).MoveToOuterDisposeScope();
    }
}
