using VDiTLens.Attention;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi.Vae;

/// <summary>
/// diffusers' MochiUpBlock3D: resnet blocks, then a per-voxel Linear to out·t·s·s channels and depth-to-space:
/// channel (c, i, j, k) goes to frame T·t + i, row H·s + j, column W·s + k.
/// </summary>
public sealed class MochiVaeUpBlock : nn.Module
{
    private readonly long _temporal, _spatial;
    public ModuleList<MochiVaeResnetBlock> resnets;
    public Linear proj;

    public MochiVaeUpBlock(long inChannels, long outChannels, int layers, int temporal, int spatial, Device device, ScalarType dtype)
        : base("MochiUpBlock3D")
    {
        (_temporal, _spatial) = (temporal, spatial);
        (resnets, _, _) = MochiVaeMidBlock.Layers(inChannels, layers, attention: false, new AttentionSeam(), "", device, dtype);
        register_module("resnets", resnets);
        register_module("proj", proj = nn.Linear(inChannels, outChannels * temporal * spatial * spatial, device: device, dtype: dtype));
    }

    public Tensor Forward(Tensor x, MochiCausalCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var resnet in resnets) x = resnet.Forward(x, cache);
        var y = proj.forward(x.permute(0, 2, 3, 4, 1));
        long b = y.shape[0], t = y.shape[1], h = y.shape[2], w = y.shape[3];
        long st = _temporal, s = _spatial, c = y.shape[4] / (st * s * s);
        var video = y.view(b, t, h, w, c, st, s, s)
            .permute(0, 4, 1, 5, 2, 6, 3, 7)
            .reshape(b, c, t * st, h * s, w * s);
        return video.MoveToOuterDisposeScope();
    }
}
